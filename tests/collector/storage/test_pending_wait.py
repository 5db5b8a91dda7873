"""A write over ``max_pending_bytes`` waits for the writer to make room instead of being
refused at once; it is refused (``StoreBusy``) only if no room is made within ``pending_wait``."""

from __future__ import annotations

from collections.abc import Callable
import errno
import threading
from pathlib import Path

import httpx
import pytest

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer
import otel_feedback_collector.storage.store as store_module
from otel_feedback_collector.storage import SpanStore, StoreBusy
from otlp_builders import genai_trace, traces_request

# Long enough never to end a test by itself: a write returns as soon as room is made.
_PATIENT = 60.0


def _span_count(store: SpanStore) -> int:
    return store.connect().execute("SELECT count(*) FROM spans").fetchone()[0]


def _disk_full(*args: object, **kwargs: object) -> None:
    """Every Parquet flush fails as on a full disk (the edge of the world here)."""
    raise OSError(errno.ENOSPC, "No space left on device")


def _store_at_its_limit(data_dir: Path, *, pending_wait: float) -> SpanStore:
    """An open store whose WAL already holds one trace over its 2,000-byte pending limit
    (no flush runs by itself), so the next write must wait for room."""
    store = SpanStore(data_dir, flush_interval=3600, max_pending_bytes=2000, pending_wait=pending_wait)
    store.open()
    assert store.write_traces(traces_request(genai_trace(text="x" * 1500)[1])) == 3
    return store


def _write_in_background(store: SpanStore) -> tuple[threading.Thread, list[BaseException | int]]:
    """A write of one trace in a thread; its outcome (span count or error) lands in the list."""
    outcome: list[BaseException | int] = []

    def write() -> None:
        try:
            outcome.append(store.write_traces(traces_request(genai_trace(text="y" * 1500)[1])))
        except BaseException as error:  # noqa: BLE001 - the test reads it
            outcome.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    return writer, outcome


def test_a_write_over_the_limit_waits_for_the_flush_it_wakes_and_is_stored(data_dir: Path) -> None:
    # No flush by interval during the test: only the waiting write can start one.
    store = _store_at_its_limit(data_dir, pending_wait=_PATIENT)
    try:
        assert _span_count(store) == 0  # waiting in the WAL, the limit reached
        trace_id, spans = genai_trace(text="y" * 1500)
        assert store.write_traces(traces_request(spans)) == 3  # no StoreBusy: it waited
        assert _span_count(store) == 3  # the first write was flushed to make room
        store.flush()
        found = store.connect().execute(
            "SELECT count(*) FROM spans WHERE trace_id = ?", [trace_id.hex()]
        ).fetchone()
        assert found == (3,)
    finally:
        store.close()


def test_a_write_is_refused_when_the_writer_cannot_make_room(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store_at_its_limit(data_dir, pending_wait=0.3)
    try:
        # Every Parquet flush fails, so the backlog never shrinks.
        monkeypatch.setattr(store, "_store_records", _disk_full)
        with pytest.raises(StoreBusy) as refused:
            store.write_traces(traces_request(genai_trace(text="y" * 1500)[1]))
        assert refused.value.retry_after >= 1
        monkeypatch.undo()
        store.flush()  # the disk has room again: what was acknowledged is stored
        assert _span_count(store) == 3
    finally:
        store.close()


def test_closing_the_store_refuses_the_writes_still_waiting_for_room(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The write would wait ten minutes; closing the store must not leave it (and its sender)
    # hanging that long.
    store = _store_at_its_limit(data_dir, pending_wait=600)
    failed_once = threading.Event()

    def disk_full(*args: object, **kwargs: object) -> None:
        failed_once.set()
        _disk_full()

    monkeypatch.setattr(store, "_store_records", disk_full)
    writer, outcome = _write_in_background(store)
    assert failed_once.wait(_PATIENT)  # the waiting write woke the writer; its flush failed
    store.close()  # the acknowledged record stays in the WAL for the next start
    writer.join(_PATIENT)
    assert not writer.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], StoreBusy)
    monkeypatch.undo()
    reopened = SpanStore(data_dir)
    reopened.open()
    try:
        assert _span_count(reopened) == 3
    finally:
        reopened.close()


def test_an_http_export_to_a_full_store_waits_and_gets_200(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(grpc_port=None, flush_interval=3600, max_pending_bytes=4096, pending_wait=_PATIENT)
    headers = {"Content-Type": "application/x-protobuf"}
    first = genai_trace_request(5).SerializeToString()
    assert len(first) > 4096
    url = f"{server.http_url}/v1/traces"
    assert httpx.post(url, content=first, headers=headers, timeout=_PATIENT).status_code == 200
    second = httpx.post(url, content=genai_trace_request(5).SerializeToString(), headers=headers, timeout=_PATIENT)
    assert second.status_code == 200  # not 429: the writer made room while it waited
    server.store.flush()
    assert _span_count(server.store) == 30


def test_a_long_flush_makes_room_chunk_by_chunk(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A flush converts its records in chunks; a write waiting for room goes on once a chunk is
    # written, not only when the whole flush is published (which can take longer than the
    # wait for a backlog of max_pending_bytes).
    monkeypatch.setattr(store_module, "_CHUNK_BYTES", 1000)
    store = SpanStore(data_dir, flush_interval=3600, max_pending_bytes=12_000, pending_wait=_PATIENT)
    store.open()
    try:
        for _ in range(2):  # ~5 KB each, both let in: two chunks of one record each
            store.write_traces(traces_request(genai_trace(text="x" * 1500)[1]))
        publishing = threading.Event()
        release = threading.Event()
        publish = store._publish

        def held_publish(*args: object, **kwargs: object) -> None:
            publishing.set()
            assert release.wait(_PATIENT)
            publish(*args, **kwargs)

        monkeypatch.setattr(store, "_publish", held_publish)
        writer, outcome = _write_in_background(store)
        assert publishing.wait(_PATIENT)  # the flush it woke wrote its chunks; not published
        writer.join(_PATIENT)
        assert outcome == [3]  # let in while the flush was still unpublished
        release.set()
        store.flush()
        assert _span_count(store) == 9
    finally:
        release.set()
        store.close()


@pytest.mark.parametrize("wait", [-1.0, float("inf"), float("nan")])
def test_a_wait_that_is_negative_or_not_finite_is_refused(data_dir: Path, wait: float) -> None:
    with pytest.raises(ValueError, match="pending_wait"):
        SpanStore(data_dir, pending_wait=wait)
