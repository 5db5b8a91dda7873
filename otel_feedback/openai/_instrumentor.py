"""``OpenAIInstrumentor`` and ``autolog()``: putting the traced methods on the client classes.

The wrappers replace methods on the resource *classes* (``Completions.create`` and friends),
so every client, made before or after, is covered. ``uninstrument()`` puts back the very
function objects that were there.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_feedback.openai._calls import CaptureSettings, wrap
from otel_feedback.openai._operations import TARGETS, Target

logger = logging.getLogger(__name__)

CAPTURE_CONTENT_ENV = "OTEL_FEEDBACK_CAPTURE_CONTENT"
OTEL_CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})

# The wrappers read this on every call, so autolog(capture_content=...) takes effect at once.
capture_settings = CaptureSettings()
# (class, method name) -> the original function object that was in the class's __dict__.
_originals: dict[tuple[type, str], Any] = {}


def capture_content_from_env() -> bool:
    """Content capture as the environment says: on unless either variable turns it off.

    ``OTEL_FEEDBACK_CAPTURE_CONTENT`` decides when set; otherwise the standard
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false`` turns capture off.
    """
    for name in (CAPTURE_CONTENT_ENV, OTEL_CAPTURE_CONTENT_ENV):
        raw = os.environ.get(name, "").strip().lower()
        if not raw:
            continue
        if raw in _FALSE_WORDS:
            return False
        if raw in _TRUE_WORDS:
            return True
        logger.warning("%s=%r is not true or false; content capture stays on", name, raw)
    return True


def _resolve_target(target: Target) -> type | None:
    try:
        module = importlib.import_module(target.module)
    except ImportError:
        return None
    cls = getattr(module, target.class_name, None)
    if not isinstance(cls, type) or not callable(cls.__dict__.get(target.method)):
        return None
    return cls


def _patch_all() -> None:
    for target in TARGETS:
        cls = _resolve_target(target)
        if cls is None or (cls, target.method) in _originals:
            continue
        original = cls.__dict__[target.method]
        _originals[(cls, target.method)] = original
        setattr(cls, target.method, wrap(original, target.operation, capture_settings))
    logger.debug("otel_feedback: traced %d OpenAI client methods", len(_originals))


def _restore_all() -> None:
    while _originals:
        (cls, method), original = _originals.popitem()
        setattr(cls, method, original)


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces the openai client (v1 and later): chat completions (and ``parse``), completions,
    embeddings and responses, sync and async, streaming or not.

    ``OpenAIInstrumentor().instrument(capture_content=False)`` keeps message text out of spans;
    ``opentelemetry-instrument`` finds this class through the ``opentelemetry_instrumentor``
    entry point. Spans go through otel_feedback's tracer (the global TracerProvider, or the
    one given to ``otel_feedback.configure``).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        """The openai versions this instrumentation supports."""
        return ("openai >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        capture = kwargs.get("capture_content")
        capture_settings.capture_content = capture_content_from_env() if capture is None else bool(capture)
        if kwargs.get("tracer_provider") is not None:
            logger.warning(
                "otel_feedback: OpenAIInstrumentor ignores tracer_provider=; "
                "pass it to otel_feedback.configure(tracer_provider=...) instead"
            )
        _patch_all()

    def _uninstrument(self, **kwargs: Any) -> None:
        _restore_all()


def autolog(*, capture_content: bool | None = None, disable: bool = False) -> OpenAIInstrumentor:
    """Trace every OpenAI call in this process; ``disable=True`` stops tracing them.

    ``capture_content``: record messages and answers in ``input.value`` / ``output.value``
    (default on; ``None`` reads ``OTEL_FEEDBACK_CAPTURE_CONTENT`` and
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``). Calling ``autolog`` again while
    tracing is on logs a warning and only updates ``capture_content`` when it is given.
    """
    instrumentor = OpenAIInstrumentor()
    if disable:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        return instrumentor
    if instrumentor.is_instrumented_by_opentelemetry and capture_content is not None:
        capture_settings.capture_content = bool(capture_content)
    instrumentor.instrument(capture_content=capture_content)
    return instrumentor
