"""A WAL record that cannot be converted is quarantined; the writer and recovery go on.

The bad records are real bytes in the real write-ahead log (a TRACES payload that is not a
protobuf, an ASSESSMENTS payload that is not a list of records), not a patched converter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage import SpanStore
from otel_feedback_collector.storage.wal import RecordKind, encode_frame
from otlp_builders import make_span, new_trace_id, traces_request

NOT_A_PROTOBUF = b"\x0a\xff\xff\xff\xff\x0f"  # field 1, a length far beyond the payload
NOT_ASSESSMENTS = b"[1, 2, 3]"


def _span_names(store: SpanStore) -> list[str]:
    store.flush()
    connection = store.connect()
    try:
        return [row[0] for row in connection.execute("SELECT name FROM spans ORDER BY name").fetchall()]
    finally:
        connection.close()


def _good_request(name: str) -> object:
    return traces_request([make_span(trace_id=new_trace_id(), name=name)])


def _quarantine_files(data_dir: Path) -> list[str]:
    directory = data_dir / "wal" / "quarantine"
    return sorted(path.suffix for path in directory.iterdir()) if directory.is_dir() else []


def test_a_record_that_cannot_be_converted_is_quarantined_and_later_spans_are_stored(
    data_dir: Path, caplog
) -> None:
    with SpanStore(data_dir, flush_interval=0.2) as store:
        store.write_traces(_good_request("before"))
        store._append(RecordKind.TRACES, NOT_A_PROTOBUF)  # a record the converter refuses
        store._append(RecordKind.ASSESSMENTS, NOT_ASSESSMENTS)
        store.write_traces(_good_request("after"))
        assert _span_names(store) == ["after", "before"]
        assert store.quarantined_records == 2
        store.write_traces(_good_request("later"))
        assert _span_names(store) == ["after", "before", "later"]
    assert "RECORD QUARANTINED" in caplog.text
    frames = sorted((data_dir / "wal" / "quarantine").glob("*.frame"))
    assert sorted(path.read_bytes() for path in frames) == sorted(
        [encode_frame(RecordKind.TRACES, NOT_A_PROTOBUF), encode_frame(RecordKind.ASSESSMENTS, NOT_ASSESSMENTS)]
    )
    for frame in frames:
        assert "could not be stored" in frame.with_suffix(".reason.txt").read_text()
    with SpanStore(data_dir, flush_interval=0.2) as reopened:
        assert _span_names(reopened) == ["after", "before", "later"]
        assert reopened.quarantined_records == 2


def test_recovery_quarantines_a_bad_record_and_keeps_the_others(data_dir: Path) -> None:
    wal_dir = data_dir / "wal"
    wal_dir.mkdir(parents=True)
    frames = [
        encode_frame(RecordKind.TRACES, _good_request("first").SerializeToString()),
        encode_frame(RecordKind.TRACES, NOT_A_PROTOBUF),
        encode_frame(RecordKind.TRACES, _good_request("second").SerializeToString()),
    ]
    (wal_dir / "segment-000000000001.wal").write_bytes(b"".join(frames))
    with SpanStore(data_dir, flush_interval=0.2) as store:
        assert _span_names(store) == ["first", "second"]
        assert store.quarantined_records == 1
    assert _quarantine_files(data_dir) == [".frame", ".txt"]
    with SpanStore(data_dir, flush_interval=0.2) as store:  # and the next start-up is clean
        assert _span_names(store) == ["first", "second"]


def test_healthz_reports_quarantined_records(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    server = start_collector(data_dir=tmp_path / "data", grpc_port=None)
    healthy = httpx.get(f"{server.http_url}/healthz", timeout=10)
    assert (healthy.text, healthy.headers["X-Quarantined-Records"]) == ("ok", "0")
    server.store._append(RecordKind.TRACES, NOT_A_PROTOBUF)
    server.store.flush()
    answer = httpx.get(f"{server.http_url}/healthz", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["X-Quarantined-Records"] == "1"
    assert "wal/quarantine/" in answer.text
