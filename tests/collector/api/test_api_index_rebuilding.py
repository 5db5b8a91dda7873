"""While the trace index is rebuilt (in the background: a deleted or damaged index file, or
one that failed), storage goes on and reads use the Parquet files in one memory-bounded
database; a read that does not fit there says so (503 with Retry-After), never a 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from api_test_support import send_trace
from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage import live_reads


def test_reads_that_need_the_index_while_it_is_rebuilt_answer_503_and_storage_goes_on(
    start_collector: Callable[..., CollectorServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held_fill: HeldFill,
) -> None:
    data_dir = tmp_path / "data"
    first = start_collector(data_dir=data_dir, grpc_port=None)
    before = [send_trace(first, question=f"question {n}").trace_id for n in range(3)]
    first.stop()
    (data_dir / "trace_index.duckdb").unlink()
    # As at ten million spans: a listing over every run's summaries does not fit the fallback's
    # memory (a real DuckDB out-of-memory error, with this small a limit).
    monkeypatch.setattr(live_reads, "_FALLBACK_MEMORY", "1MB")
    held_fill.hold()
    server = start_collector(data_dir=data_dir, grpc_port=None)
    assert not server.store._reads.usable

    listing = httpx.get(f"{server.http_url}/api/v1/traces", params={"max_results": 50}, timeout=30)
    assert listing.status_code == 503
    assert listing.json()["error"]["code"] == "BUSY"
    assert "being rebuilt" in listing.json()["error"]["message"]
    assert int(listing.headers["retry-after"]) >= 1
    page = httpx.get(f"{server.http_url}/experiments/Default", timeout=30)
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "being rebuilt" in page.text and int(page.headers["retry-after"]) >= 1

    again = httpx.get(f"{server.http_url}/api/v1/traces", params={"max_results": 50}, timeout=30)
    assert again.status_code == 503  # answered at once now: the data is too large without the index
    during = send_trace(server, question="sent during the rebuild").trace_id  # acknowledged and flushed

    held_fill.release.set()
    assert server.store.wait_for_trace_index()
    listing = httpx.get(f"{server.http_url}/api/v1/traces", params={"max_results": 50}, timeout=30)
    assert listing.status_code == 200
    assert {trace["trace_id"] for trace in listing.json()["traces"]} == {*before, during}

