"""OpenAI auto-instrumentation: every call of the openai client becomes an LLM span.

Trace all calls (every client, made before or after)::

    import otel_feedback.openai
    otel_feedback.openai.autolog()                        # or autolog(capture_content=False)

or the OpenTelemetry way (``opentelemetry-instrument python app.py`` finds it too, through the
``opentelemetry_instrumentor`` entry point ``otel_feedback_openai``)::

    from otel_feedback.openai import OpenAIInstrumentor
    OpenAIInstrumentor().instrument()
    OpenAIInstrumentor().uninstrument()                   # the original methods are put back

Traced: ``chat.completions.create`` (streaming too) and ``.parse``, ``completions.create``,
``embeddings.create``, ``responses.create`` (streaming too) and ``.parse``, sync and async.
Each call is a span named ``{operation} {model}`` (``chat gpt-4o-mini``) nested under the
current span, with the OTel GenAI attributes (``gen_ai.*``) and OpenInference ones
(``input.value`` = the request, ``output.value`` = the response or the assembled stream).
Message content is captured unless ``capture_content=False``,
``OTEL_FEEDBACK_CAPTURE_CONTENT=false`` or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false``. The caller's exceptions are
recorded and re-raised unchanged; a fault in the instrumentation is logged, never raised.
See docs/openai.md for every attribute.
"""

from __future__ import annotations

from otel_feedback.openai._instrumentor import (
    CAPTURE_CONTENT_ENV,
    OTEL_CAPTURE_CONTENT_ENV,
    OpenAIInstrumentor,
    autolog,
)

__all__ = ["CAPTURE_CONTENT_ENV", "OTEL_CAPTURE_CONTENT_ENV", "OpenAIInstrumentor", "autolog"]
