"""Reading and inflating request bodies without ever holding more than the limit in memory.

The rule: a body larger than ``limit`` bytes is refused, whether it is large on the wire or only
after decompression. The wire body is read chunk by chunk and reading stops as soon as it passes
the limit; a compressed body is inflated with ``zlib.decompressobj(...).decompress(data,
max_length)`` so a gzip bomb stops at ``limit + 1`` inflated bytes instead of filling memory.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from collector.otlp.errors import PayloadTooLarge, UnsupportedEncoding

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS
_INFLATE_STEP = 1 << 20

SUPPORTED_ENCODINGS: tuple[str, ...] = ("identity", "gzip", "x-gzip", "deflate")


def _too_large(limit: int, *, inflated: bool) -> PayloadTooLarge:
    where = "after decompression" if inflated else "on the wire"
    return PayloadTooLarge(
        f"The request body is larger than {limit} bytes {where}; send smaller batches "
        "(lower the exporter's batch size) or start the collector with a larger --max-body-bytes."
    )


def check_content_length(header: str | None, *, limit: int) -> None:
    """Refuse early when the declared Content-Length already exceeds ``limit``."""
    if header is None:
        return
    try:
        declared = int(header)
    except ValueError:
        return
    if declared > limit:
        raise _too_large(limit, inflated=False)


async def read_bounded(chunks: AsyncIterator[bytes], *, limit: int) -> bytes:
    """Collect an ASGI body stream, raising :class:`PayloadTooLarge` once it passes ``limit``.

    Reading stops at the first chunk over the limit; the rest is never pulled off the socket.
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, inflated=False)
        parts.append(chunk)
    return b"".join(parts)


def inflate_bounded(data: bytes, encoding: str | None, *, limit: int) -> bytes:
    """Return ``data`` decoded per its Content-Encoding, never producing more than ``limit`` bytes.

    Supports identity, gzip (also several concatenated gzip members) and deflate (zlib-wrapped as
    HTTP specifies, or raw deflate as some clients send). Raises :class:`PayloadTooLarge` when the
    inflated size would pass ``limit`` and :class:`UnsupportedEncoding` for anything else.
    Corrupt compressed data raises :class:`zlib.error`.
    """
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        if len(data) > limit:
            raise _too_large(limit, inflated=False)
        return data
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, _GZIP_WBITS, limit=limit)
    if coding == "deflate":
        try:
            return _inflate(data, _ZLIB_WBITS, limit=limit)
        except zlib.error:
            return _inflate(data, _RAW_DEFLATE_WBITS, limit=limit)
    raise UnsupportedEncoding(
        f"Content-Encoding {encoding!r} is not supported; send the body uncompressed, gzip or deflate."
    )


def _inflate(data: bytes, wbits: int, *, limit: int) -> bytes:
    out: list[bytes] = []
    produced = 0
    pending = data
    while pending:
        decompressor = zlib.decompressobj(wbits)
        while not decompressor.eof:
            room = limit + 1 - produced
            piece = decompressor.decompress(pending, min(room, _INFLATE_STEP))
            produced += len(piece)
            if produced > limit:
                raise _too_large(limit, inflated=True)
            out.append(piece)
            pending = decompressor.unconsumed_tail
            if not piece and not pending:
                break
        if not decompressor.eof:
            raise zlib.error("the compressed body ends before its end-of-stream marker")
        # gzip allows several members back to back; raw deflate and zlib do not.
        pending = decompressor.unused_data if wbits == _GZIP_WBITS else b""
    return b"".join(out)
