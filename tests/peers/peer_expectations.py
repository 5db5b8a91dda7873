"""What both peer tests expect of the chatbot's trace (tests/peers/chatbot_app.py)."""

from __future__ import annotations

# The app's own spans: the @trace root, the retriever, and the OpenAI call. Nothing else.
APP_SPAN_NAMES = ("answer", "retrieve", "chat gpt-4o-mini")
# The app answers in a few milliseconds and logs feedback 2 s later: a trace that lasts a second
# or more has been stretched by the feedback.
MAX_TRACE_SECONDS = 1.0
