"""``otel-feedback demo``: the "collect human feedback in 10 minutes" flow on one laptop.

It starts a collector on a fresh data directory and, when no ``OPENAI_API_KEY`` is set, a local
OpenAI-compatible server that stands in for the model; runs the tutorial's traced chatbot on a
few questions; records an end user's thumbs-down; and prints each step with its result and where
to look. ``tutorial_app`` holds the chatbot itself, ``runner`` the flow, ``cli`` the command.
"""
