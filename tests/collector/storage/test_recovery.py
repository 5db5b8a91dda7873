"""Recovery keeps every intact record it can find and says what it set aside: a bad frame in
the middle of a segment, an empty segment, a damaged manifest."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from otel_feedback_collector.storage import SpanStore, connect
from otel_feedback_collector.storage.wal import RecordKind, encode_frame
from otlp_builders import genai_trace, traces_request


def trace_ids(store: SpanStore) -> set[str]:
    return {row[0] for row in store.connect().execute("SELECT trace_id FROM spans").fetchall()}


def test_a_bad_frame_mid_segment_costs_only_its_own_bytes(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    traces = [genai_trace(text=f"answer {n}") for n in range(20)]
    frames = [encode_frame(RecordKind.TRACES, traces_request(spans).SerializeToString()) for _, spans in traces]
    bad = bytearray(frames[5])
    bad[40] ^= 0x55
    segment = data_dir / "wal" / "segment-000000000001.wal"
    segment.parent.mkdir(parents=True)
    segment.write_bytes(b"".join([*frames[:5], bytes(bad), *frames[6:]]))
    with caplog.at_level(logging.ERROR, logger="otel_feedback_collector.storage"):
        with SpanStore(data_dir) as store:
            stored = trace_ids(store)
    expected = {trace_id.hex() for index, (trace_id, _) in enumerate(traces) if index != 5}
    assert stored == expected  # before: only the 5 frames ahead of the bad one
    message = next(r.getMessage() for r in caplog.records if "WRITE-AHEAD LOG DAMAGED" in r.getMessage())
    assert "19 intact records kept" in message
    assert f"{len(bad)} bytes in 1 damaged stretch(es) set aside" in message
    kept = list((data_dir / "wal" / "damaged").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes()[: len(frames[0])] == frames[0]


def test_an_empty_segment_is_removed_with_a_log_line(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (data_dir / "wal").mkdir(parents=True)
    empty = data_dir / "wal" / "segment-000000000007.wal"
    empty.touch()
    with caplog.at_level(logging.WARNING, logger="otel_feedback_collector.storage"):
        with SpanStore(data_dir):
            pass
    assert not empty.exists()
    assert any(str(empty) in r.getMessage() and "empty" in r.getMessage() for r in caplog.records)


def write_three_flushes(data_dir: Path) -> set[str]:
    sent: set[str] = set()
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for n in range(3):
            trace_id, spans = genai_trace(text=f"flush {n}")
            store.write_traces(traces_request(spans))
            store.flush()
            sent.add(trace_id.hex())
    return sent


@pytest.mark.parametrize("backup", ["kept", "lost"])
def test_a_damaged_manifest_is_rebuilt_and_nothing_published_is_lost(
    data_dir: Path, caplog: pytest.LogCaptureFixture, backup: str
) -> None:
    sent = write_three_flushes(data_dir)
    manifest = data_dir / "manifest.json"
    manifest.write_text(manifest.read_text()[:22])  # "Unterminated string ..."
    if backup == "lost":
        (data_dir / "manifest.json.prev").unlink()
    else:
        # Readers (otel-feedback sql) fall back to the backup instead of failing.
        assert connect(data_dir).execute("SELECT count(*) FROM spans").fetchone()[0] >= 6
    with caplog.at_level(logging.ERROR, logger="otel_feedback_collector.storage"):
        with SpanStore(data_dir, compaction_fan_in=1000) as store:
            assert trace_ids(store) == sent
            counts = store.connect().execute(
                "SELECT count(*), count(DISTINCT span_id) FROM spans"
            ).fetchone()
            traces = store.connect().execute("SELECT count(*) FROM traces").fetchone()
    assert counts[0] == counts[1] == 9 and traces == (3,)
    assert any("MANIFEST DAMAGED" in r.getMessage() and "manifest.json" in r.getMessage() for r in caplog.records)
    assert len(list(data_dir.glob("manifest.json.damaged-*"))) == 1
    with SpanStore(data_dir) as again:  # the repaired manifest is an ordinary one
        assert trace_ids(again) == sent


def test_a_damaged_manifest_without_backup_names_the_file_for_readers(data_dir: Path) -> None:
    write_three_flushes(data_dir)
    (data_dir / "manifest.json").write_text('{"format_version": 1, "datas')
    (data_dir / "manifest.json.prev").unlink()
    with pytest.raises(ValueError, match=r"manifest.json is damaged .*otel-feedback serve"):
        connect(data_dir)
