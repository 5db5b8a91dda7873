"""Bounded body reading and inflation: limits hold on the wire and after decompression."""

from __future__ import annotations

import gzip
import zlib

import pytest

from otel_feedback_collector.otlp.body import MAX_GZIP_MEMBERS, check_content_length, inflate_bounded, read_bounded
from otel_feedback_collector.otlp.errors import MalformedRequest, PayloadTooLarge, UnsupportedEncoding


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip body of zeros that inflates to ``inflated_bytes``, built without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(inflated_bytes // len(chunk))]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_gzip_round_trip() -> None:
    assert inflate_bounded(gzip.compress(b"hello" * 100), "gzip", limit=1000) == b"hello" * 100


def test_concatenated_gzip_members_are_all_inflated() -> None:
    body = gzip.compress(b"first ") + gzip.compress(b"second")
    assert inflate_bounded(body, "GZIP", limit=100) == b"first second"


def test_deflate_accepts_zlib_wrapped_and_raw() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw_body = raw.compress(b"raw deflate") + raw.flush()
    assert inflate_bounded(zlib.compress(b"zlib wrapped"), "deflate", limit=100) == b"zlib wrapped"
    assert inflate_bounded(raw_body, "deflate", limit=100) == b"raw deflate"


def test_identity_is_passed_through_within_the_limit() -> None:
    assert inflate_bounded(b"abc", None, limit=3) == b"abc"
    with pytest.raises(PayloadTooLarge):
        inflate_bounded(b"abcd", "identity", limit=3)


def test_exactly_the_limit_is_accepted_and_one_more_byte_is_not() -> None:
    assert len(inflate_bounded(gzip.compress(bytes(1000)), "gzip", limit=1000)) == 1000
    with pytest.raises(PayloadTooLarge, match="after decompression"):
        inflate_bounded(gzip.compress(bytes(1001)), "gzip", limit=1000)


def test_gzip_bomb_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = gzip_bomb(256 << 20)
    produced: list[int] = []
    real_decompressobj = zlib.decompressobj

    class CountingDecompressor:
        def __init__(self, wbits: int) -> None:
            self._inner = real_decompressobj(wbits)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self._inner.decompress(data, max_length)
            produced.append(len(out))
            return out

        def __getattr__(self, name: str) -> object:
            return getattr(self._inner, name)

    monkeypatch.setattr("otel_feedback_collector.otlp.body.zlib.decompressobj", CountingDecompressor)
    with pytest.raises(PayloadTooLarge):
        inflate_bounded(bomb, "gzip", limit=4 << 20)
    assert sum(produced) == (4 << 20) + 1


class _FedBytesCounter:
    """Wraps zlib.decompressobj to count the input bytes handed to it: the inflater's work."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fed = 0
        real_decompressobj = zlib.decompressobj
        counter = self

        class CountingDecompressor:
            def __init__(self, wbits: int) -> None:
                self._inner = real_decompressobj(wbits)

            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                counter.fed += len(data)
                return self._inner.decompress(data, max_length)

            def __getattr__(self, name: str) -> object:
                return getattr(self._inner, name)

        monkeypatch.setattr("otel_feedback_collector.otlp.body.zlib.decompressobj", CountingDecompressor)


def test_many_gzip_members_cost_work_linear_in_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each member used to be handed the whole rest of the body (a copy of it, too): 6 MB of empty
    # members cost 25 s. Now the input handed to zlib stays within a small multiple of the body.
    members = [gzip.compress(f"member {i};".encode() * 20) for i in range(MAX_GZIP_MEMBERS)]
    body = b"".join(members)
    counter = _FedBytesCounter(monkeypatch)
    inflated = inflate_bounded(body, "gzip", limit=1 << 20)
    assert inflated == b"".join(f"member {i};".encode() * 20 for i in range(MAX_GZIP_MEMBERS))
    assert counter.fed <= 4 * len(body)


def test_one_large_member_is_fed_in_growing_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = bytes(range(256)) * 40_000
    body = gzip.compress(raw)
    counter = _FedBytesCounter(monkeypatch)
    assert inflate_bounded(body, "gzip", limit=len(raw)) == raw
    assert counter.fed <= 4 * len(body)


def test_empty_gzip_members_past_the_cap_are_refused() -> None:
    empty = gzip.compress(b"")
    assert inflate_bounded(empty * MAX_GZIP_MEMBERS, "gzip", limit=100) == b""
    with pytest.raises(MalformedRequest, match=f"more than {MAX_GZIP_MEMBERS} members"):
        inflate_bounded(empty * 300_000, "gzip", limit=100)


def test_deflate_reads_one_stream_and_ignores_what_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    body = zlib.compress(b"payload") + zlib.compress(b"") * 50_000
    counter = _FedBytesCounter(monkeypatch)
    assert inflate_bounded(body, "deflate", limit=100) == b"payload"
    assert counter.fed < 1000


def test_truncated_gzip_is_an_error() -> None:
    with pytest.raises(zlib.error):
        inflate_bounded(gzip.compress(b"x" * 5000)[:-12], "gzip", limit=10_000)


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(UnsupportedEncoding, match="br"):
        inflate_bounded(b"...", "br", limit=100)


def test_declared_content_length_over_the_limit_is_refused_early() -> None:
    check_content_length("100", limit=100)
    check_content_length(None, limit=100)
    with pytest.raises(PayloadTooLarge, match="on the wire"):
        check_content_length("101", limit=100)


async def _chunks(pulled: list[int], sizes: list[int]):  # type: ignore[no-untyped-def]
    for size in sizes:
        pulled.append(size)
        yield b"x" * size


@pytest.mark.anyio
async def test_reading_stops_at_the_first_chunk_over_the_limit() -> None:
    pulled: list[int] = []
    with pytest.raises(PayloadTooLarge):
        await read_bounded(_chunks(pulled, [40, 40, 40, 40, 40]), limit=100)
    assert pulled == [40, 40, 40]
    assert await read_bounded(_chunks([], [50, 50]), limit=100) == b"x" * 100


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
