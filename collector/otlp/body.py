"""Reading and inflating request bodies without ever holding more than the limit in memory.

The rule: a body larger than ``limit`` bytes is refused, whether it is large on the wire or only
after decompression. The wire body is read chunk by chunk and reading stops as soon as it passes
the limit; a compressed body is inflated with ``zlib.decompressobj(...).decompress(data,
max_length)`` so a gzip bomb stops at ``limit + 1`` inflated bytes instead of filling memory.
The work is linear in the body too: the input is walked by offset (never re-copied per gzip
member) and a body of more than :data:`MAX_GZIP_MEMBERS` members is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable

from otel_feedback_collector.otlp.errors import MalformedRequest, PayloadTooLarge, UnsupportedEncoding

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS
_INFLATE_STEP = 1 << 20
_FIRST_FEED = 64
# Exporters send one gzip member; concatenated files have a handful. Each member costs a fresh
# decompressor, so a body of thousands of empty members is work, not data.
MAX_GZIP_MEMBERS = 1000

SUPPORTED_ENCODINGS: tuple[str, ...] = ("identity", "gzip", "x-gzip", "deflate")


def _too_large(limit: int, *, inflated: bool) -> PayloadTooLarge:
    where = "after decompression" if inflated else "on the wire"
    return PayloadTooLarge(
        f"The request body is larger than {limit} bytes {where}; send smaller batches "
        "(lower the exporter's batch size) or start the collector with a larger --max-body-bytes."
    )


def check_content_length(header: str | None, *, limit: int) -> int | None:
    """Refuse early when the declared Content-Length already exceeds ``limit``; return it (or None)."""
    if header is None:
        return None
    try:
        declared = int(header)
    except ValueError:
        return None
    if declared > limit:
        raise _too_large(limit, inflated=False)
    return max(declared, 0)


async def read_bounded(
    chunks: AsyncIterator[bytes], *, limit: int, charge: Callable[[int], None] | None = None
) -> bytes:
    """Collect an ASGI body stream, raising :class:`PayloadTooLarge` once it passes ``limit``.

    Reading stops at the first chunk over the limit; the rest is never pulled off the socket.
    ``charge`` is called with each chunk's size before it is kept (it may raise to stop).
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, inflated=False)
        if charge is not None:
            charge(len(chunk))
        parts.append(chunk)
    return b"".join(parts)


def inflate_bounded(
    data: bytes, encoding: str | None, *, limit: int, charge: Callable[[int], None] | None = None
) -> bytes:
    """Return ``data`` decoded per its Content-Encoding, never producing more than ``limit`` bytes.

    Supports identity, gzip (also several concatenated gzip members) and deflate (zlib-wrapped as
    HTTP specifies, or raw deflate as some clients send). Raises :class:`PayloadTooLarge` when the
    inflated size would pass ``limit`` and :class:`UnsupportedEncoding` for anything else.
    Corrupt compressed data raises :class:`zlib.error`. ``charge`` is called with the size of
    each inflated piece before it is kept (an identity body is returned as is, not charged).
    """
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        if len(data) > limit:
            raise _too_large(limit, inflated=False)
        return data
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, _GZIP_WBITS, limit=limit, charge=charge)
    if coding == "deflate":
        try:
            return _inflate(data, _ZLIB_WBITS, limit=limit, charge=charge)
        except zlib.error:
            return _inflate(data, _RAW_DEFLATE_WBITS, limit=limit, charge=charge)
    raise UnsupportedEncoding(
        f"Content-Encoding {encoding!r} is not supported; send the body uncompressed, gzip or deflate."
    )


def _inflate(data: bytes, wbits: int, *, limit: int, charge: Callable[[int], None] | None) -> bytes:
    out: list[bytes] = []
    produced = 0
    view = memoryview(data)
    position = 0
    members = 0
    # gzip allows several members back to back; raw deflate and zlib streams stop after one.
    while position < len(view) and (members == 0 or wbits == _GZIP_WBITS):
        members += 1
        if members > MAX_GZIP_MEMBERS:
            raise MalformedRequest(
                f"The gzip body has more than {MAX_GZIP_MEMBERS} members; compress the body as one gzip stream."
            )
        decompressor = zlib.decompressobj(wbits)
        # zlib copies the input left over when a stream ends (unused_data) or when the output
        # step is full (unconsumed_tail). Feeding a slice that starts small and doubles while the
        # stream goes on keeps each copy within twice what the stream consumed, so the total work
        # is linear in the body however many members it has (it was quadratic: every member
        # copied the whole rest of the body).
        feed = _FIRST_FEED
        while not decompressor.eof:
            piece_in = view[position : position + feed]
            room = limit + 1 - produced
            piece = decompressor.decompress(piece_in, min(room, _INFLATE_STEP))
            consumed = len(piece_in) - len(decompressor.unconsumed_tail) - len(decompressor.unused_data)
            position += consumed
            produced += len(piece)
            if produced > limit:
                raise _too_large(limit, inflated=True)
            if charge is not None:
                charge(len(piece))
            out.append(piece)
            if not piece and not consumed and not decompressor.eof:
                raise zlib.error("the compressed body ends before its end-of-stream marker")
            if consumed == len(piece_in):
                feed = min(feed * 2, _INFLATE_STEP)
    return b"".join(out)
