"""Spans for the app's own functions: ``@trace``, ``start_span`` and the trace-id helpers.

Every span goes through ``LiveSpan``: it starts an OTel span with the span type and the
captured inputs, makes it current, and on exit records the output or the exception and ends
it exactly once. The decorator picks the right wrapper for plain functions, coroutines,
generators and async generators; generator spans cover the whole iteration and are made
current only while the generator body runs, so the consumer's own spans never nest under them.

Our own faults are logged, never raised into the app; the app's exceptions pass through
unchanged.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TypeVar, overload

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import Status, StatusCode

from otel_feedback import _documents, _serialize
from otel_feedback_core.wire import (
    EXPERIMENT,
    GENERATOR_CLOSED_EARLY,
    INPUT_MIME_TYPE,
    INPUT_TRUNCATED,
    INPUT_VALUE,
    METADATA,
    OUTPUT_MIME_TYPE,
    OUTPUT_TRUNCATED,
    OUTPUT_VALUE,
    CONVERSATION_ID,
    PROJECT_NAME,
    SESSION_ID,
    SPAN_KIND,
    TAG_TAGS,
    TRACE_TAGS,
    USER_ID,
)
from otel_feedback import _config
from otel_feedback._config import get_tracer, settings
from otel_feedback._span_attributes import set_plain_attributes
from otel_feedback._span_types import SpanType, parse_span_type, span_type_attributes

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# The trace id (an int) of the last span of ours that ended in this thread / asyncio task.
_last_trace_id: ContextVar[int | None] = ContextVar("otel_feedback_last_trace_id", default=None)
# Our outermost live span in the current context: `update_current_trace` writes to it.
_local_root: ContextVar[LiveSpan | None] = ContextVar("otel_feedback_local_root", default=None)

# How many items a traced generator keeps for its output before it stops collecting.
MAX_COLLECTED_ITEMS = 10_000

_NOTHING: Any = object()


def format_trace_id(trace_id: int) -> str:
    """A trace id as the 32-character lowercase hex used everywhere in our API."""
    return format(trace_id, "032x")


def format_span_id(span_id: int) -> str:
    """A span id as 16-character lowercase hex."""
    return format(span_id, "016x")


def _capture(value: Any, value_key: str, mime_key: str, truncated_key: str) -> dict[str, Any]:
    text, mime, truncated = _serialize.serialize(value)
    if truncated:
        return {value_key: text, mime_key: mime, truncated_key: True}
    return {value_key: text, mime_key: mime}


class LiveSpan:
    """A handle on a span of ours while it runs.

    ``start_span`` yields one; ``@trace`` uses one internally. Attributes set through it go on
    the underlying OpenTelemetry span (``.span``), which any OTel code can use as well.
    """

    __slots__ = ("span", "_token", "_root_token", "_carry", "_metadata", "_tags", "_ended", "_trace_id", "_retriever")

    def __init__(self, span: trace_api.Span) -> None:
        self.span = span
        self._carry: dict[str, Any] | None = None
        self._token: object | None = None
        self._root_token: Token[LiveSpan | None] | None = None
        self._metadata: dict[str, Any] | None = None
        self._tags: dict[str, str] | None = None
        self._ended = False
        self._trace_id = span.get_span_context().trace_id
        self._retriever = False  # a RETRIEVER span: its outputs are also recorded as documents

    # -- identity ---------------------------------------------------------------------------
    @property
    def trace_id(self) -> str:
        """The trace id, 32 lowercase hex characters."""
        return format_trace_id(self._trace_id)

    @property
    def span_id(self) -> str:
        """The span id, 16 lowercase hex characters."""
        return format_span_id(self.span.get_span_context().span_id)

    def is_recording(self) -> bool:
        """False when the span is not sampled or tracing has no SDK provider."""
        return self.span.is_recording()

    # -- content ----------------------------------------------------------------------------
    def set_inputs(self, inputs: Any) -> None:
        """Capture ``inputs`` as ``input.value`` (JSON unless a plain string)."""
        if self.span.is_recording():
            self._set_attributes(_capture(inputs, INPUT_VALUE, INPUT_MIME_TYPE, INPUT_TRUNCATED))

    def set_outputs(self, outputs: Any) -> None:
        """Capture ``outputs`` as ``output.value`` (JSON unless a plain string)."""
        if self.span.is_recording():
            self._set_attributes(_capture(outputs, OUTPUT_VALUE, OUTPUT_MIME_TYPE, OUTPUT_TRUNCATED))
            if self._retriever:
                self._set_attributes(_documents.document_attributes(outputs))

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute; values OTel cannot hold (dicts, objects) are stored as JSON text."""
        self._set_attributes({key: value})

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set several attributes at once (see ``set_attribute``)."""
        self._set_attributes(attributes)

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        """Add a timestamped event to the span."""
        try:
            self.span.add_event(name, _otel_attributes(attributes or {}))
        except Exception:  # noqa: BLE001
            logger.debug("otel_feedback: could not add event %r", name, exc_info=True)

    def set_status(self, status: StatusCode | str, description: str | None = None) -> None:
        """Set the span status: ``"OK"``, ``"ERROR"`` or a ``StatusCode``."""
        code = StatusCode[status.upper()] if isinstance(status, str) else status
        self.span.set_status(Status(code, description if code is StatusCode.ERROR else None))

    def _set_attributes(self, attributes: Mapping[str, Any]) -> None:
        try:
            if self._ended:
                logger.debug("otel_feedback: attributes set after the span ended are dropped")
                return
            self.span.set_attributes(_otel_attributes(attributes))
        except Exception:  # noqa: BLE001
            logger.debug("otel_feedback: could not set attributes", exc_info=True)

    # -- trace-level fields (the local root carries them) ---------------------------------
    def _update_trace(
        self,
        *,
        tags: Mapping[str, str] | Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
        user: str | None,
        session: str | None,
    ) -> None:
        attributes: dict[str, Any] = {}
        if session is not None:
            attributes[SESSION_ID] = str(session)
            attributes[CONVERSATION_ID] = str(session)
        if user is not None:
            attributes[USER_ID] = str(user)
        if metadata:
            self._metadata = {**(self._metadata or {}), **dict(metadata)}
            attributes[METADATA] = _serialize.serialize(self._metadata)[0]
        if tags:
            if isinstance(tags, Mapping):
                new_tags = {str(key): str(value) for key, value in tags.items()}
            elif isinstance(tags, (str, bytes)):
                raise ValueError("tags must be a mapping of str to str or a list of str, not a single string")
            else:
                new_tags = {str(tag): "" for tag in tags}
            self._tags = {**(self._tags or {}), **new_tags}
            attributes[TRACE_TAGS] = json.dumps(self._tags, ensure_ascii=False)
            attributes[TAG_TAGS] = [f"{key}={value}" if value else key for key, value in self._tags.items()]
        if attributes:
            self._set_attributes(attributes)

    # -- lifecycle ----------------------------------------------------------------------------
    def _activate(self) -> None:
        self._activate_under(_local_root.get())

    def _activate_under(self, root: LiveSpan | None) -> None:
        self._token = context_api.attach(trace_api.set_span_in_context(self.span))
        if root is None or root._trace_id != self._trace_id:
            self._root_token = _local_root.set(self)

    def _deactivate(self) -> None:
        if self._root_token is not None:
            _local_root.reset(self._root_token)
            self._root_token = None
        if self._token is not None:
            context_api.detach(self._token)  # type: ignore[arg-type]
            self._token = None

    def _record_error(self, exc: BaseException) -> None:
        try:
            if self.span.is_recording():
                self.span.record_exception(exc)
                self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        except Exception:  # noqa: BLE001
            logger.debug("otel_feedback: could not record an exception", exc_info=True)

    def _end(self, extra: dict[str, Any] | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        try:
            carry = self._carry
            if carry:
                set_plain_attributes(self.span, carry)
            if extra:
                self.span.set_attributes(extra)
            self.span.end()
            if self._trace_id:
                _last_trace_id.set(self._trace_id)
        except Exception:  # noqa: BLE001
            logger.debug("otel_feedback: could not end a span", exc_info=True)


def _otel_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Keep values OTel accepts; store anything else as JSON text rather than dropping it."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[key] = value
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            out[key] = list(value)
        else:
            out[key] = _serialize.serialize(value)[0]
    return out


def _begin(
    name: str,
    static_attributes: dict[str, Any],
    inputs: Callable[[], Any] | None = None,
    *,
    binder: _InputBinder | None = None,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    kind: trace_api.SpanKind = trace_api.SpanKind.INTERNAL,
) -> LiveSpan | None:
    """Start and activate a span; None (and a log line) if our own machinery fails.

    ``kind`` is INTERNAL for the app's own steps; instrumentations of model calls pass CLIENT,
    as the GenAI conventions say.

    Inputs come from ``inputs()`` or, for ``@trace``, from ``binder`` applied to the call's
    arguments. They are serialized now (a later mutation of an argument must not change what
    the span says went in) but written at the end together with the outputs, in one step
    (see ``_span_attributes``). Nothing is serialized while no provider records spans.
    """
    try:
        tracer = _config._tracer
        if tracer is None:
            tracer = get_tracer()
        recording = _config._tracer is not None
        root = _local_root.get()
        carry: dict[str, Any] | None = None
        if recording:
            if binder is not None:
                captured = binder.bind(args, kwargs or {})
            elif inputs is not None:
                captured = inputs()
            else:
                captured = _NOTHING
            if captured is not _NOTHING:
                text, mime, truncated = _serialize.serialize(captured)
                carry = {INPUT_VALUE: text, INPUT_MIME_TYPE: mime}
                if truncated:
                    carry[INPUT_TRUNCATED] = True
            if settings.experiment and root is None:
                carry = {**(carry or {}), EXPERIMENT: settings.experiment, PROJECT_NAME: settings.experiment}
        live = LiveSpan(tracer.start_span(name, kind=kind, attributes=static_attributes))
        live._retriever = static_attributes.get(SPAN_KIND) == "RETRIEVER"
        live._carry = carry
        live._activate_under(root)
        return live
    except Exception:  # noqa: BLE001 - telemetry never breaks the app
        logger.warning("otel_feedback: could not start span %r; the call runs untraced", name, exc_info=True)
        return None


def _finish(live: LiveSpan | None, *, output: Any = None, capture_output: bool = False,
            error: BaseException | None = None, extra: dict[str, Any] | None = None) -> None:
    """Deactivate and end ``live`` with its output or error; never raises."""
    if live is None:
        return
    try:
        live._deactivate()
    except Exception:  # noqa: BLE001
        logger.debug("otel_feedback: could not deactivate a span", exc_info=True)
    if error is not None:
        live._record_error(error)
    elif capture_output:
        try:
            if live.span.is_recording():
                text, mime, truncated = _serialize.serialize(output)
                carry = live._carry
                if carry is None:
                    carry = live._carry = {}
                carry[OUTPUT_VALUE] = text
                carry[OUTPUT_MIME_TYPE] = mime
                if truncated:
                    carry[OUTPUT_TRUNCATED] = True
                if live._retriever:
                    documents = _documents.document_attributes(output)
                    if documents:
                        extra = {**(extra or {}), **documents}
        except Exception:  # noqa: BLE001
            logger.debug("otel_feedback: could not capture an output", exc_info=True)
    live._end(extra)


@contextmanager
def start_span(
    name: str,
    *,
    span_type: SpanType | str = SpanType.UNKNOWN,
    inputs: Any = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[LiveSpan]:
    """Open a span around a block: ``with start_span("rerank", span_type="RERANKER") as span:``.

    The span is current inside the block (children nest under it). ``inputs`` (when given) is
    captured at once; call ``span.set_outputs(...)`` for the result. An exception escaping the
    block is recorded, sets ERROR status and propagates unchanged.
    """
    static = _static_attributes(parse_span_type(span_type), attributes)
    if not settings.enabled:
        yield LiveSpan(trace_api.INVALID_SPAN)
        return
    live = _begin(name, static, None if inputs is None else (lambda: inputs))
    if live is None:
        yield LiveSpan(trace_api.INVALID_SPAN)
        return
    try:
        yield live
    except Exception as exc:
        _finish(live, error=exc)
        raise
    except BaseException:
        _finish(live)
        raise
    _finish(live)


def _static_attributes(span_type: SpanType, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    static = span_type_attributes(span_type)
    if attributes:
        static = {**_otel_attributes(attributes), **static}
    return static


class _InputBinder:
    """Maps a call's arguments to parameter names, cheaply in the common case."""

    __slots__ = ("_signature", "_names", "_defaults", "_skip", "_fast", "_count")

    def __init__(self, fn: Callable[..., Any]) -> None:
        try:
            signature: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            signature = None
        self._signature = signature
        params = list(signature.parameters.values()) if signature else []
        first = params[0] if params else None
        self._skip = (
            first.name
            if first is not None
            and first.name in ("self", "cls")
            and first.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            else None
        )
        kinds = {p.kind for p in params}
        self._fast = signature is not None and kinds <= {
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        }
        self._names = tuple(p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self._defaults = {
            p.name: p.default for p in params if p.default is not inspect.Parameter.empty and p.name != self._skip
        }
        self._count = len(params)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if self._fast and len(args) <= len(self._names):
            inputs = dict(zip(self._names, args))
            if kwargs:
                inputs.update(kwargs)
            if self._defaults and len(inputs) < self._count:
                for key, value in self._defaults.items():
                    if key not in inputs:
                        inputs[key] = value
        else:
            inputs = self._bind_slow(args, kwargs)
        if self._skip is not None:
            inputs.pop(self._skip, None)
        return inputs

    def _bind_slow(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if self._signature is None:
            return {"args": list(args), "kwargs": kwargs} if kwargs else {"args": list(args)}
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError:
            # The call itself is wrong; the function will raise. Capture what was passed.
            return {"args": list(args), **kwargs}
        bound.apply_defaults()
        inputs: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if self._signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                inputs.update(value)  # **kwargs are flattened: predict_fn(**inputs) replays the call
            else:
                inputs[name] = value
        return inputs


@overload
def trace(func: F, /) -> F: ...


@overload
def trace(
    func: None = None,
    /,
    *,
    name: str | None = None,
    span_type: SpanType | str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    capture_inputs: bool = True,
    capture_outputs: bool = True,
) -> Callable[[F], F]: ...


def trace(
    func: Any = None,
    /,
    *,
    name: str | None = None,
    span_type: SpanType | str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    capture_inputs: bool = True,
    capture_outputs: bool = True,
) -> Any:
    """Trace a function: each call becomes a span, nested under the current one.

    Use bare (``@trace``) or with options (``@trace(span_type="RETRIEVER")``). Works on plain
    functions, methods, static and class methods, ``async def`` functions, generators and async
    generators. Inputs are the call's arguments by parameter name (``self``/``cls`` left out),
    outputs the return value; for generators the span covers the whole iteration and the output
    is the list of yielded items, or ``output_reducer(items)``.

    ``span_type`` is a ``SpanType`` or its name; ``attributes`` are set on every span.
    ``capture_inputs=False`` / ``capture_outputs=False`` keep sensitive values out of the span.
    """
    parsed_type = parse_span_type(span_type)
    if output_reducer is not None and not callable(output_reducer):
        raise ValueError("output_reducer must be a callable taking the list of yielded items")

    def decorate(fn: Any) -> Any:
        if isinstance(fn, (staticmethod, classmethod)):
            return type(fn)(decorate(fn.__func__))
        if not callable(fn):
            raise TypeError(f"@trace decorates functions and methods; got {type(fn).__name__}")
        span_name = name or getattr(fn, "__name__", None) or type(fn).__name__
        static = _static_attributes(parsed_type, attributes)
        binder = _InputBinder(fn) if capture_inputs else None
        if inspect.isasyncgenfunction(fn):
            return _wrap_async_generator(fn, span_name, static, binder, output_reducer, capture_outputs)
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, span_name, static, binder, output_reducer, capture_outputs)
        if inspect.iscoroutinefunction(fn):
            return _wrap_coroutine(fn, span_name, static, binder, capture_outputs)
        return _wrap_function(fn, span_name, static, binder, capture_outputs)

    if func is not None:
        return decorate(func)
    return decorate


def _wrap_function(fn: Callable[..., Any], name: str, static: dict[str, Any],
                   binder: _InputBinder | None, capture_outputs: bool) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not settings.enabled:
            return fn(*args, **kwargs)
        live = _begin(name, static, binder=binder, args=args, kwargs=kwargs)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            _finish(live, error=exc)
            raise
        except BaseException:
            _finish(live)
            raise
        _finish(live, output=result, capture_output=capture_outputs)
        return result

    return wrapper


def _wrap_coroutine(fn: Callable[..., Any], name: str, static: dict[str, Any],
                    binder: _InputBinder | None, capture_outputs: bool) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not settings.enabled:
            return await fn(*args, **kwargs)
        live = _begin(name, static, binder=binder, args=args, kwargs=kwargs)
        try:
            result = await fn(*args, **kwargs)
        except Exception as exc:
            _finish(live, error=exc)
            raise
        except BaseException:
            _finish(live)
            raise
        _finish(live, output=result, capture_output=capture_outputs)
        return result

    return wrapper


class _Collector:
    """The items a traced generator yielded, bounded, reduced to the span's output at the end."""

    __slots__ = ("items", "dropped", "reducer")

    def __init__(self, reducer: Callable[[list[Any]], Any] | None) -> None:
        self.items: list[Any] = []
        self.dropped = 0
        self.reducer = reducer

    def add(self, item: Any) -> None:
        if len(self.items) < MAX_COLLECTED_ITEMS:
            self.items.append(item)
        else:
            self.dropped += 1

    def output(self) -> Any:
        if self.reducer is not None:
            try:
                return self.reducer(self.items)
            except Exception:  # noqa: BLE001
                logger.warning("otel_feedback: output_reducer failed; the span keeps the raw items", exc_info=True)
        return self.items

    def extra(self, closed_early: bool) -> dict[str, Any] | None:
        extra: dict[str, Any] = {}
        if closed_early:
            extra[GENERATOR_CLOSED_EARLY] = True
        if self.dropped:
            extra[OUTPUT_TRUNCATED] = True
        return extra or None


def _step(live: LiveSpan | None, advance: Callable[[], Any]) -> Any:
    """Run one step of the wrapped generator with its span current, then restore the caller's."""
    if live is None:
        return advance()
    live._activate()
    try:
        return advance()
    finally:
        live._deactivate()


def _wrap_generator(fn: Callable[..., Any], name: str, static: dict[str, Any], binder: _InputBinder | None,
                    reducer: Callable[[list[Any]], Any] | None, capture_outputs: bool) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not settings.enabled:
            return (yield from fn(*args, **kwargs))
        live = _begin(name, static, binder=binder, args=args, kwargs=kwargs)
        if live is not None:
            live._deactivate()  # current only while the generator body runs (see _step)
        collected = _Collector(reducer)
        closed_early = False
        try:
            inner = _step(live, lambda: fn(*args, **kwargs))
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                try:
                    if to_throw is not None:
                        thrown, to_throw = to_throw, None
                        item = _step(live, lambda: inner.throw(thrown))
                    else:
                        item = _step(live, lambda: inner.send(to_send))
                except StopIteration as stop:
                    returned = stop.value
                    break
                collected.add(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    closed_early = True
                    _step(live, inner.close)
                    raise
                except BaseException as exc:  # thrown in by the consumer: pass it on
                    to_throw = exc
        except Exception as exc:
            _finish(live, error=exc, extra=collected.extra(closed_early))
            raise
        except BaseException:
            _finish(live, output=collected.output(), capture_output=capture_outputs,
                    extra=collected.extra(closed_early))
            raise
        _finish(live, output=collected.output(), capture_output=capture_outputs, extra=collected.extra(False))
        return returned

    return wrapper


def _wrap_async_generator(fn: Callable[..., Any], name: str, static: dict[str, Any], binder: _InputBinder | None,
                          reducer: Callable[[list[Any]], Any] | None, capture_outputs: bool) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not settings.enabled:
            async for item in fn(*args, **kwargs):
                yield item
            return
        live = _begin(name, static, binder=binder, args=args, kwargs=kwargs)
        if live is not None:
            live._deactivate()
        collected = _Collector(reducer)
        closed_early = False
        try:
            inner = _step(live, lambda: fn(*args, **kwargs))
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                if live is not None:
                    live._activate()
                try:
                    if to_throw is not None:
                        thrown, to_throw = to_throw, None
                        item = await inner.athrow(thrown)
                    else:
                        item = await inner.asend(to_send)
                except StopAsyncIteration:
                    break
                finally:
                    if live is not None:
                        live._deactivate()
                collected.add(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    closed_early = True
                    if live is not None:
                        live._activate()
                    try:
                        await inner.aclose()
                    finally:
                        if live is not None:
                            live._deactivate()
                    raise
                except BaseException as exc:
                    to_throw = exc
        except Exception as exc:
            _finish(live, error=exc, extra=collected.extra(closed_early))
            raise
        except BaseException:
            _finish(live, output=collected.output(), capture_output=capture_outputs,
                    extra=collected.extra(closed_early))
            raise
        _finish(live, output=collected.output(), capture_output=capture_outputs, extra=collected.extra(False))

    return wrapper


def get_last_active_trace_id() -> str | None:
    """The id of the last trace whose span of ours ended in this thread or asyncio task.

    Concurrent requests handled in other threads or tasks never see each other's ids. Spans
    ended inside a child task (``asyncio.create_task``) count for that task, not its parent.
    """
    trace_id = _last_trace_id.get()
    return None if not trace_id else format_trace_id(trace_id)


def get_current_trace_id() -> str | None:
    """The id of the trace that is active right now (any OTel span counts), or None."""
    span_context = trace_api.get_current_span().get_span_context()
    return format_trace_id(span_context.trace_id) if span_context.is_valid else None


def get_current_span_id() -> str | None:
    """The id of the span that is active right now, or None."""
    span_context = trace_api.get_current_span().get_span_context()
    return format_span_id(span_context.span_id) if span_context.is_valid else None


def update_current_trace(
    *,
    tags: Mapping[str, str] | Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    user: str | None = None,
    session: str | None = None,
) -> None:
    """Attach trace-level fields to the running trace.

    They go on our outermost live span in this context (the trace's root when the app traces
    from the top): ``session.id``, ``user.id``, ``metadata`` (merged with earlier calls, as
    JSON) and tags (``tag.tags``, plus ``otel_feedback.trace.tags`` as a JSON object). With no
    span of ours active, the current OTel span gets them; with none at all, nothing happens
    and a warning is logged.
    """
    if tags is not None and isinstance(tags, (str, bytes)):
        raise ValueError("tags must be a mapping of str to str or a list of str, not a single string")
    if not settings.enabled:
        return
    target = _local_root.get()
    if target is None or target._ended:
        current = trace_api.get_current_span()
        if not current.get_span_context().is_valid:
            logger.warning("otel_feedback: update_current_trace() called with no active trace; ignored")
            return
        target = LiveSpan(current)
    target._update_trace(tags=tags, metadata=metadata, user=user, session=session)
