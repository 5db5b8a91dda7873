"""OTLP/HTTP: ``POST /v1/traces``, ``/v1/logs`` and ``/v1/metrics`` as Starlette routes.

The event loop only reads the (bounded) body; inflating, decoding, validating and the durable
store write run in a bounded thread pool, so a slow fsync never stalls other connections. At
most ``max_pending_requests`` exports are in progress at once; past that the receiver answers
503 with Retry-After straight away rather than buffering more bodies in memory. A body that takes
longer than ``body_read_timeout`` seconds to arrive gets 408, so stalled senders cannot hold
those slots. Every export also holds its bytes (read, inflated, decoded) against the shared
:class:`InflightBudget`; past it the answer is 503 with Retry-After before more is read.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from functools import partial

import anyio
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.otlp.body import check_content_length, inflate_bounded, read_bounded
from otel_feedback_collector.otlp.encoding import (
    MessageEncoding,
    decode_message,
    encode_message,
    encoding_for_content_type,
    status_message,
)
from otel_feedback_collector.otlp.errors import Backpressure, BodyTimeout, MalformedRequest, OtlpError, release_frames
from otel_feedback_collector.otlp.inflight import DECODE_FACTOR, BodyClaim, InflightBudget
from otel_feedback_collector.otlp.ingest import ExportPipeline
from otel_feedback_collector.otlp.signals import ALL_SIGNALS, Signal


class OtlpHttpReceiver:
    """Builds the OTLP/HTTP routes around an :class:`ExportPipeline`."""

    def __init__(
        self,
        pipeline: ExportPipeline,
        *,
        max_body_bytes: int,
        worker_threads: int = 8,
        max_pending_requests: int = 32,
        body_read_timeout: float = 60.0,
        inflight: InflightBudget | None = None,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be a positive number of bytes.")
        if body_read_timeout <= 0:
            raise ValueError("body_read_timeout must be a positive number of seconds.")
        if worker_threads < 1 or max_pending_requests < 1:
            raise ValueError("worker_threads and max_pending_requests must be at least 1.")
        self._pipeline = pipeline
        self._max_body_bytes = max_body_bytes
        self._worker_threads = worker_threads
        self._limiter: anyio.CapacityLimiter | None = None
        self._max_pending = max_pending_requests
        self._pending = 0
        self._body_read_timeout = body_read_timeout
        self._inflight = inflight if inflight is not None else InflightBudget()

    def routes(self) -> Sequence[BaseRoute]:
        """One POST route per OTLP signal; other methods get 405 from Starlette."""
        return [
            Route(signal.http_path, partial(self._export, signal), methods=["POST"], name=f"otlp_{signal.name}")
            for signal in ALL_SIGNALS
        ]

    async def _export(self, signal: Signal, request: Request) -> Response:
        encoding = MessageEncoding.JSON
        try:
            encoding = encoding_for_content_type(request.headers.get("content-type"))
            if self._pending >= self._max_pending:
                raise Backpressure(
                    "The collector has too many exports in progress; retry shortly.",
                    retry_after=1.0,
                    overloaded=True,
                )
            self._pending += 1
            try:
                with self._inflight.claim() as claim:
                    payload = await self._read_and_export(signal, request, encoding, claim)
            finally:
                self._pending -= 1
        except OtlpError as exc:
            release_frames(exc)
            return error_response(exc, encoding)
        except ClientDisconnect:
            # The sender went away mid-body: nothing was stored and nobody reads an answer.
            return Response(status_code=400)
        return Response(payload, status_code=200, media_type=encoding.media_type)

    async def _read_and_export(
        self, signal: Signal, request: Request, encoding: MessageEncoding, claim: BodyClaim
    ) -> bytes:
        declared = check_content_length(request.headers.get("content-length"), limit=self._max_body_bytes)
        content_encoding = request.headers.get("content-encoding")
        # A declared length is held before reading (with its decoding, when it is not compressed),
        # so a body that would be refused is never pulled in.
        decoding_held = declared is not None and (content_encoding or "identity").strip().lower() == "identity"
        if declared is not None:
            claim.charge(declared * (1 + DECODE_FACTOR[encoding]) if decoding_held else declared)
        with anyio.move_on_after(self._body_read_timeout) as timer:
            body = await read_bounded(
                request.stream(), limit=self._max_body_bytes, charge=None if declared is not None else claim.charge
            )
        if timer.cancelled_caught:
            raise BodyTimeout(
                f"The request body did not arrive within {self._body_read_timeout:g} s; "
                "the connection is too slow or the sender stalled."
            )
        work = partial(
            self._decode_and_export, signal, body, content_encoding, encoding, None if decoding_held else claim
        )
        return await anyio.to_thread.run_sync(work, limiter=self._thread_limiter())

    def _thread_limiter(self) -> anyio.CapacityLimiter:
        # Created lazily: a CapacityLimiter belongs to the event loop that first uses it.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._worker_threads)
        return self._limiter

    def _decode_and_export(
        self,
        signal: Signal,
        body: bytes,
        content_encoding: str | None,
        encoding: MessageEncoding,
        claim: BodyClaim | None,
    ) -> bytes:
        """Inflate, decode and export; ``claim`` is charged for inflating and decoding unless it
        already holds them (None)."""
        # A store that stays full would refuse it after decoding: wait for room, or refuse it
        # before (the size on the wire, at most the decoded size, is what the check counts).
        self._pipeline.wait_for_room(signal, len(body))
        charge = claim.charge if claim is not None else None
        try:
            raw = inflate_bounded(body, content_encoding, limit=self._max_body_bytes, charge=charge)
        except zlib.error as exc:
            raise MalformedRequest(
                f"The body could not be decompressed as {content_encoding}: {exc}."
            ) from exc
        if claim is not None:
            claim.charge_decoding(len(raw), encoding)
        request = signal.new_request()
        decode_message(raw, encoding, request)
        response = self._pipeline.export(signal, request, original=(raw, encoding))
        return encode_message(response, encoding)


def error_response(error: OtlpError, encoding: MessageEncoding) -> Response:
    """The OTLP/HTTP error answer: a google.rpc.Status in the request's encoding."""
    status = status_message(code=error.grpc_code.value[0], message=error.message)
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return Response(
        encode_message(status, encoding),
        status_code=error.http_status,
        media_type=encoding.media_type,
        headers=headers,
    )
