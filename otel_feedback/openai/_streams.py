"""Traced streams: the caller's ``Stream`` / ``AsyncStream`` with a span that ends exactly once.

The proxy passes every chunk through unchanged (and every other attribute, e.g. ``.response``;
``isinstance(proxy, openai.Stream)`` still holds) while an accumulator assembles the answer.
The span ends when the stream is read to the end, closed, left through ``with``/``async with``,
raises, or is dropped unread and garbage-collected (a ``weakref.finalize`` on the proxy). The
span state lives in a separate ``StreamSpan`` so the finalizer never keeps the proxy alive.
"""

from __future__ import annotations

import logging
import time
import weakref
from types import TracebackType
from typing import Any

import wrapt

from otel_feedback import _serialize
from otel_feedback_core.wire import OUTPUT_MIME_TYPE, OUTPUT_TRUNCATED, OUTPUT_VALUE
from otel_feedback._tracing import LiveSpan, _finish
from otel_feedback.openai import _messages
from otel_feedback.openai import _semconv as sc
from otel_feedback.openai._accumulators import StreamAccumulator
from otel_feedback.openai._operations import ResultKind

logger = logging.getLogger(__name__)


def output_attributes(output: Any) -> dict[str, Any]:
    """``output.value`` and its mime type (and truncation flag) for a captured output."""
    text, mime, truncated = _serialize.serialize(output)
    attributes: dict[str, Any] = {OUTPUT_VALUE: text, OUTPUT_MIME_TYPE: mime}
    if truncated:
        attributes[OUTPUT_TRUNCATED] = True
    return attributes


class StreamSpan:
    """The span of one streamed call, fed by the proxy and ended once."""

    __slots__ = ("_live", "_accumulator", "_capture_content", "_started", "_first_chunk_seen", "_done", "_kind")

    def __init__(self, live: LiveSpan, accumulator: StreamAccumulator, *, capture_content: bool,
                 started: float | None = None, kind: ResultKind = ResultKind.CHAT) -> None:
        self._live = live
        self._kind = kind
        self._accumulator = accumulator
        self._capture_content = capture_content
        self._started = time.perf_counter() if started is None else started
        self._first_chunk_seen = False
        self._done = False

    @property
    def done(self) -> bool:
        """Whether the span has ended."""
        return self._done

    def observe(self, item: Any) -> None:
        """Fold a chunk into the answer; the first one sets ``gen_ai.response.time_to_first_chunk``."""
        if self._done:
            return
        try:
            if not self._first_chunk_seen:
                self._first_chunk_seen = True
                elapsed = time.perf_counter() - self._started
                self._live.set_attribute(sc.TIME_TO_FIRST_CHUNK, elapsed)
            self._accumulator.add(item)
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller's stream
            logger.warning("otel_feedback: could not read a streamed OpenAI chunk", exc_info=True)

    def end(self, outcome: str, error: BaseException | None = None) -> None:
        """End the span with the answer so far; ``outcome`` says how the stream ended."""
        if self._done:
            return
        self._done = True
        extra: dict[str, Any] = {sc.STREAM_OUTCOME: outcome}
        try:
            extra.update(self._accumulator.attributes())
            if self._capture_content:
                output = self._accumulator.output()
                extra.update(output_attributes(output))
                extra.update(_messages.output_content_attributes(self._kind, output))
        except Exception:  # noqa: BLE001
            logger.warning("otel_feedback: could not assemble a streamed OpenAI answer", exc_info=True)
        if error is not None:
            extra[sc.ERROR_TYPE] = type(error).__qualname__
        _finish(self._live, error=error, extra=extra)

    def stopped(self, reason: BaseException) -> None:
        """Reading raised ``reason``: the end of the stream, a failure, or an interruption."""
        if isinstance(reason, (StopIteration, StopAsyncIteration)):
            self.end("completed")
        elif isinstance(reason, Exception):
            self.end("error", reason)
        else:
            self.end("closed_early")

    def abandon(self) -> None:
        """The proxy was garbage-collected: end the span if nothing else did."""
        self.end("abandoned")


class TracedStream(wrapt.ObjectProxy):  # type: ignore[misc]
    """A synchronous ``openai.Stream`` whose reading is traced."""

    def __init__(self, stream: Any, span: StreamSpan) -> None:
        super().__init__(stream)
        self._self_span = span
        weakref.finalize(self, span.abandon)

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        try:
            item = self.__wrapped__.__next__()
        except BaseException as reason:
            self._self_span.stopped(reason)
            raise
        self._self_span.observe(item)
        return item

    def __enter__(self) -> TracedStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_span.end("closed_early")

    def close(self) -> None:
        """Close the HTTP response; the span ends with what was read so far."""
        try:
            self.__wrapped__.close()
        finally:
            self._self_span.end("closed_early")

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


class TracedAsyncStream(wrapt.ObjectProxy):  # type: ignore[misc]
    """An ``openai.AsyncStream`` whose reading is traced."""

    def __init__(self, stream: Any, span: StreamSpan) -> None:
        super().__init__(stream)
        self._self_span = span
        weakref.finalize(self, span.abandon)

    def __aiter__(self) -> TracedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self.__wrapped__.__anext__()
        except BaseException as reason:
            self._self_span.stopped(reason)
            raise
        self._self_span.observe(item)
        return item

    async def __aenter__(self) -> TracedAsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_span.end("closed_early")

    async def close(self) -> None:
        """Close the HTTP response; the span ends with what was read so far."""
        try:
            await self.__wrapped__.close()
        finally:
            self._self_span.end("closed_early")

    async def aclose(self) -> None:
        """Alias of ``close()``."""
        await self.close()

    def __repr__(self) -> str:
        return repr(self.__wrapped__)
