"""Where an OpenAI call's span is created and ended: the wrappers put on the client's methods.

A wrapper starts the span (nested under the current one), calls the original method, and
either ends the span with the result, hands it to a traced stream, or records the caller's
exception and re-raises it untouched. Every step of ours is guarded: a fault in our code is
logged and the call goes on as if it were not traced.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable

try:
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled
except ImportError:  # pragma: no cover - opentelemetry-instrumentation before 0.46b0

    def is_instrumentation_enabled() -> bool:
        """Older releases have no suppression check: always trace."""
        return True

from opentelemetry.trace import SpanKind

from otel_feedback import _config
from otel_feedback._config import settings
from otel_feedback._tracing import LiveSpan, _begin, _finish
from otel_feedback.openai import _accumulators, _messages, _others, _request, _results
from otel_feedback.openai import _semconv as sc
from otel_feedback.openai._operations import Operation, ResultKind
from otel_feedback.openai._streams import StreamSpan, TracedAsyncStream, TracedStream, output_attributes

logger = logging.getLogger(__name__)

# Set while one of our wrapped methods runs, so a method that calls another traced one
# (e.g. a helper delegating to ``create``) makes one span, not two.
_inside_call: ContextVar[bool] = ContextVar("otel_feedback_openai_inside_call", default=False)


@dataclass
class CaptureSettings:
    """Switches read on every call; one instance is shared by all wrappers."""

    capture_content: bool = True


_STREAM_TYPES: tuple[type, type] | None = None


def _stream_types() -> tuple[type, type]:
    global _STREAM_TYPES
    if _STREAM_TYPES is None:
        from openai import AsyncStream, Stream

        _STREAM_TYPES = (Stream, AsyncStream)
    return _STREAM_TYPES


def start_span(operation: Operation, resource: Any, kwargs: dict[str, Any], capture_content: bool) -> LiveSpan | None:
    """Start and activate the span of one call; None (and a log line) if we cannot."""
    try:
        embedding = operation.result_kind is ResultKind.EMBEDDING
        model_key = sc.EMBEDDING_MODEL_NAME if embedding else sc.LLM_MODEL_NAME
        attributes = {**operation.static_attributes, **_request.request_attributes(resource, kwargs, model_key)}
        if not embedding:
            attributes.update(_messages.invocation_parameters(kwargs))
        if capture_content and _config.get_tracer() is not None and _config.tracer_is_recording():
            # Messages are read only when spans are recorded (no provider: no wasted work).
            attributes.update(_messages.input_content_attributes(operation.result_kind, kwargs))
        model = kwargs.get("model")
        name = f"{operation.operation_name} {model}" if isinstance(model, str) and model else operation.operation_name
        inputs = (lambda: _request.request_input(kwargs)) if capture_content else None
    except Exception:  # noqa: BLE001 - telemetry never breaks the app
        logger.warning("otel_feedback: could not read an OpenAI request; the call runs untraced", exc_info=True)
        return None
    # A model call leaves the process: CLIENT, as the GenAI conventions say for inference spans.
    return _begin(name, attributes, inputs, kind=SpanKind.CLIENT)


def fail(live: LiveSpan | None, error: BaseException) -> None:
    """End the span with the caller's exception recorded (ERROR status, exception event)."""
    _finish(live, error=error, extra={sc.ERROR_TYPE: type(error).__qualname__})


def complete(live: LiveSpan | None, operation: Operation, result: Any, capture_content: bool,
             started: float | None = None) -> Any:
    """End the span with ``result``, or wrap a stream so its reading ends the span; returns what the caller gets.

    ``started`` (a ``time.perf_counter()`` reading) is when the call began, for time-to-first-chunk.
    """
    if live is None:
        return result
    try:
        stream_type, async_stream_type = _stream_types()
        if isinstance(result, (stream_type, async_stream_type)):
            live._deactivate()  # the caller's next spans must not nest under the open LLM span
            span = StreamSpan(live, _accumulators.new_accumulator(operation.result_kind),
                              capture_content=capture_content, started=started, kind=operation.result_kind)
            if isinstance(result, stream_type):
                return TracedStream(result, span)
            return TracedAsyncStream(result, span)
    except Exception:  # noqa: BLE001
        logger.warning("otel_feedback: could not trace an OpenAI stream; it is returned untraced", exc_info=True)
        _finish(live)
        return result
    extra: dict[str, Any] = {}
    if hasattr(result, "model_dump"):  # raw-response wrappers (with_raw_response) are not read
        try:
            extra.update(_results.result_attributes(operation.result_kind, result))
            if capture_content:
                output = _results.result_output(operation.result_kind, result)
                extra.update(output_attributes(output))
                extra.update(_messages.output_content_attributes(operation.result_kind, output))
        except Exception:  # noqa: BLE001
            logger.warning("otel_feedback: could not read an OpenAI response for its span", exc_info=True)
    _finish(live, extra=extra)
    return result


def is_async_method(method: Callable[..., Any]) -> bool:
    """Whether calling ``method`` returns a coroutine (openai decorates its async methods,
    so the ``async def`` is found by unwrapping)."""
    return inspect.iscoroutinefunction(method) or inspect.iscoroutinefunction(inspect.unwrap(method))


class TracedCall:
    """One traced client call, from its span's start to the result handed back."""

    __slots__ = ("_operation", "_live", "_capture_content", "_token", "_started")

    def __init__(self, operation: Operation, resource: Any, kwargs: dict[str, Any], capture_content: bool) -> None:
        self._operation = operation
        self._capture_content = capture_content
        self._live = start_span(operation, resource, kwargs, capture_content)
        # After the span started, so the time to the first chunk lies within it: making the
        # span's attributes (a large input is copied into them) happens before its start.
        self._started = time.perf_counter()
        self._token = _inside_call.set(True)

    @classmethod
    def begin(cls, operation: Operation, resource: Any, kwargs: dict[str, Any],
              capture: CaptureSettings, original: Any = None) -> TracedCall | None:
        """Start tracing a call; None when this call is not to be traced at all (also when
        another OpenAI instrumentation traces it: one call, one LLM span)."""
        if not settings.enabled or _inside_call.get() or not is_instrumentation_enabled():
            return None
        try:
            other = _others.other_instrumentation(resource, original, getattr(original, "__name__", ""))
        except Exception:  # noqa: BLE001 - telemetry never breaks the app
            other = None
        if other is not None:
            _others.warn_once(other)
            return None
        return cls(operation, resource, kwargs, capture.capture_content)

    def failed(self, error: BaseException) -> None:
        """The call raised ``error``: record it (a KeyboardInterrupt and the like just end the span)."""
        _inside_call.reset(self._token)
        if isinstance(error, Exception):
            fail(self._live, error)
        else:
            _finish(self._live)

    def succeeded(self, result: Any) -> Any:
        """The call returned ``result``: end the span (or hand it to a traced stream); returns what the caller gets."""
        _inside_call.reset(self._token)
        return complete(self._live, self._operation, result, self._capture_content, self._started)


def wrap(original: Callable[..., Any], operation: Operation, capture: CaptureSettings) -> Callable[..., Any]:
    """A traced version of the client method ``original`` (sync or async, as it is)."""
    if is_async_method(original):

        @functools.wraps(original)
        async def traced_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = TracedCall.begin(operation, self, kwargs, capture, original)
            if call is None:
                return await original(self, *args, **kwargs)
            try:
                result = await original(self, *args, **kwargs)
            except BaseException as exc:
                call.failed(exc)
                raise
            return call.succeeded(result)

        return traced_async

    @functools.wraps(original)
    def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = TracedCall.begin(operation, self, kwargs, capture, original)
        if call is None:
            return original(self, *args, **kwargs)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        return call.succeeded(result)

    return traced
