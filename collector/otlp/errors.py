"""The errors an OTLP export can end in, each mapped to its OTLP/HTTP status and gRPC code.

The receivers raise these; the HTTP routes and the gRPC services translate them at the edge, so
both transports give the same answer for the same fault.
"""

from __future__ import annotations

import traceback

import grpc


class OtlpError(Exception):
    """An export request that cannot be accepted; carries the status both transports send."""

    http_status: int = 400
    grpc_code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT
    retry_after: float | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def release_frames(error: BaseException) -> None:
    """Clear the local variables of every frame ``error`` (and its causes) passed through.

    An exception raised inside an ``except`` block keeps that frame, and the frame keeps the
    caught exception: a cycle only the garbage collector frees. Here those frames hold whole
    decoded requests, so under a flood of refused exports the memory piled up far past the
    in-flight budget until a collection ran. The edge handlers call this once they have answered.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


class MalformedRequest(OtlpError):
    """The body is not a valid OTLP message in the declared encoding (HTTP 400)."""


class PayloadTooLarge(OtlpError):
    """The body, before or after decompression, is larger than the configured limit (HTTP 413)."""

    http_status = 413
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class BodyTimeout(OtlpError):
    """The body did not arrive within the read timeout (HTTP 408); a stalled sender is cut off."""

    http_status = 408
    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED


class UnsupportedMediaType(OtlpError):
    """The Content-Type is neither OTLP protobuf nor OTLP JSON (HTTP 415)."""

    http_status = 415


class UnsupportedEncoding(OtlpError):
    """The Content-Encoding is not one this receiver can inflate (HTTP 415)."""

    http_status = 415


class Backpressure(OtlpError):
    """The write path is full; the sender should retry after ``retry_after`` seconds.

    ``http_status`` is 429 when the store asked us to slow down and 503 when the receiver itself
    is saturated or shutting down; gRPC uses RESOURCE_EXHAUSTED and UNAVAILABLE likewise, and
    both carry the retry delay (``Retry-After`` header, ``google.rpc.RetryInfo`` trailer).
    """

    def __init__(self, message: str, *, retry_after: float, overloaded: bool = False) -> None:
        super().__init__(message)
        self.retry_after = max(retry_after, 0.0)
        if overloaded:
            self.http_status = 503
            self.grpc_code = grpc.StatusCode.UNAVAILABLE
        else:
            self.http_status = 429
            self.grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
