"""``otel-feedback ship`` against a real S3-compatible server on loopback (moto's).

The shipped spans and assessments are read back with pyarrow (``pyarrow.dataset`` over the
S3 file system) and DuckDB (querying that dataset), with exact counts, before and after a
compaction: retired files leave the bucket, and no row is read twice through the manifest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from otel_feedback_collector.shipping import (
    Destination,
    open_filesystem,
    parse_destination,
    read_shipped_manifest,
    ship_once,
    shipped_files,
)
from otel_feedback_collector.storage import AssessmentRecord, SpanStore
from otel_feedback_collector.storage.manifest import read_manifest
from s3_local import SECRET_KEY, bucket_creator, free_port
from otlp_builders import genai_trace, traces_request

_ROUNDS = 4
_TRACES_PER_ROUND = 3
_SPANS_PER_TRACE = 3
_SPANS = _ROUNDS * _TRACES_PER_ROUND * _SPANS_PER_TRACE
_ASSESSMENTS = _ROUNDS * 2
_CLI = [sys.executable, "-m", "otel_feedback.cli"]
# Bound on the wait for a background shipper's pass to show in the bucket.
_MAX_WAIT_SECONDS = 60.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SpanStore]:
    """An open store holding four flushes (four runs of files per dataset): 12 three-span traces
    and 8 assessments, two per flush on two different traces."""
    store = SpanStore(tmp_path / "data", flush_interval=0.2, compaction_fan_in=1000, retired_file_grace=0.0)
    store.open()
    for number in range(_ROUNDS):
        traces = [genai_trace(text=f"round {number} trace {i}") for i in range(_TRACES_PER_ROUND)]
        store.write_traces(traces_request([span for _, spans in traces for span in spans]))
        ids = [trace_id.hex() for trace_id, _ in traces]
        store.write_assessments([
            AssessmentRecord(trace_id=ids[0], name="user_feedback", value=number % 2 == 0),
            AssessmentRecord(trace_id=ids[1], name="accuracy_score", value=number / 10),
        ])
        store.flush()
    yield store
    store.close()


def _destination(endpoint: str, bucket: str, prefix: str = "collector-a") -> Destination:
    return parse_destination(f"s3://{bucket}/{prefix}", endpoint_url=endpoint)


def _ship_command(data_dir: Path, destination: Destination, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_CLI, "ship", "--data", str(data_dir), "--to", destination.url,
         "--endpoint-url", str(destination.endpoint_url), *extra],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )


def _read_through_manifest(destination: Destination, filesystem: pafs.FileSystem) -> dict[str, ds.Dataset]:
    files = shipped_files(destination, filesystem)
    return {name: ds.dataset(paths, filesystem=filesystem, format="parquet") for name, paths in files.items() if paths}


def _duckdb_counts(datasets: dict[str, ds.Dataset]) -> tuple[int, int, int, int]:
    """(spans, distinct span keys, assessments, root spans joined with their assessments) by DuckDB
    over the pyarrow datasets (DuckDB's httpfs extension is not needed, nor downloadable here)."""
    connection = duckdb.connect()
    connection.register("spans", datasets["spans"])
    connection.register("assessments", datasets["assessments"])
    row = connection.execute(
        """
        SELECT (SELECT count(*) FROM spans),
               (SELECT count(DISTINCT (trace_id, span_id)) FROM spans),
               (SELECT count(*) FROM assessments),
               (SELECT count(*) FROM spans s JOIN assessments a ON a.trace_id = s.trace_id
                 WHERE s.name = 'chat_app')
        """
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _object_paths(destination: Destination, filesystem: pafs.FileSystem) -> set[str]:
    selector = pafs.FileSelector(destination.root, recursive=True, allow_not_found=True)
    return {
        info.path[len(destination.root) + 1:]
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File
    }


def _live_paths(data_dir: Path) -> set[str]:
    return {f.path for files in read_manifest(data_dir).files.values() for f in files}


def test_shipped_files_read_back_exactly_before_and_after_a_compaction(
    store: SpanStore, s3_endpoint: str, new_bucket: str
) -> None:
    destination = _destination(s3_endpoint, new_bucket)
    filesystem = open_filesystem(destination)
    live_before = _live_paths(store.data_dir)
    assert len(live_before) >= 3 * _ROUNDS  # spans, assessments, trace_summaries per flush

    shipped = _ship_command(store.data_dir, destination, "--grace", "0")
    assert shipped.returncode == 0, shipped.stderr
    assert f"uploaded {len(live_before)} file(s)" in shipped.stderr
    assert _object_paths(destination, filesystem) == live_before | {"manifest.json"}

    datasets = _read_through_manifest(destination, filesystem)
    assert datasets["spans"].count_rows() == _SPANS
    assert datasets["assessments"].count_rows() == _ASSESSMENTS
    assert _duckdb_counts(datasets) == (_SPANS, _SPANS, _ASSESSMENTS, _ASSESSMENTS)

    # Nothing new: nothing uploaded again.
    again = ship_once(store.data_dir, destination, filesystem, grace=0)
    assert (again.uploaded, again.already_shipped, again.deleted) == ([], len(live_before), [])

    assert store.compact(full=True) > 0
    live_after = _live_paths(store.data_dir)
    retired = live_before - live_after
    assert retired and live_after - live_before  # merged files replaced their inputs

    result = ship_once(store.data_dir, destination, filesystem, grace=0)
    assert sorted(result.uploaded) == sorted(live_after - live_before)
    assert sorted(result.deleted) == sorted(retired)
    # The retired files are gone from the bucket; only the live files and the manifest remain.
    assert _object_paths(destination, filesystem) == live_after | {"manifest.json"}
    datasets = _read_through_manifest(destination, filesystem)
    assert _duckdb_counts(datasets) == (_SPANS, _SPANS, _ASSESSMENTS, _ASSESSMENTS)
    # With the retired objects deleted, a glob over the bucket's folder is exact too.
    spans_folder = ds.dataset(destination.key("spans"), filesystem=filesystem, format="parquet")
    assert spans_folder.count_rows() == _SPANS


def test_retired_objects_stay_for_their_grace_period(store: SpanStore, s3_endpoint: str, new_bucket: str) -> None:
    destination = _destination(s3_endpoint, new_bucket, prefix="deep/prefix/b")
    filesystem = open_filesystem(destination)
    ship_once(store.data_dir, destination, filesystem, grace=60, clock=lambda: 1000.0)
    live_before = _live_paths(store.data_dir)
    store.compact(full=True)
    live_after = _live_paths(store.data_dir)

    ship_once(store.data_dir, destination, filesystem, grace=60, clock=lambda: 1030.0)
    # Within the grace period: still in the bucket, listed as retired, no longer as live.
    assert _object_paths(destination, filesystem) == live_before | live_after | {"manifest.json"}
    manifest = read_shipped_manifest(destination, filesystem)
    assert manifest is not None
    assert {r.path for r in manifest.retired} == live_before - live_after
    assert {f.path for files in manifest.files.values() for f in files} == live_after
    # Through the manifest every row once; a glob over the folder meanwhile sees the merged files
    # and their inputs, every span twice: why readers read the manifest or de-duplicate by key.
    assert _duckdb_counts(_read_through_manifest(destination, filesystem)) == (_SPANS, _SPANS, _ASSESSMENTS, _ASSESSMENTS)
    spans_folder = ds.dataset(destination.key("spans"), filesystem=filesystem, format="parquet")
    assert spans_folder.count_rows() == 2 * _SPANS

    result = ship_once(store.data_dir, destination, filesystem, grace=60, clock=lambda: 1030.0 + 60)
    assert sorted(result.deleted) == sorted(live_before - live_after)
    assert _object_paths(destination, filesystem) == live_after | {"manifest.json"}
    manifest = read_shipped_manifest(destination, filesystem)
    assert manifest is not None and manifest.retired == []
    assert ds.dataset(destination.key("spans"), filesystem=filesystem, format="parquet").count_rows() == _SPANS


def test_objects_of_an_interrupted_pass_are_removed(store: SpanStore, s3_endpoint: str, new_bucket: str) -> None:
    """A pass that died after an upload and before its manifest leaves an object nothing lists;
    when its file is no longer live, a later pass deletes it like a retired one."""
    destination = _destination(s3_endpoint, new_bucket)
    filesystem = open_filesystem(destination)
    ship_once(store.data_dir, destination, filesystem, grace=0)
    stray = "assessments/assessments-L0-99999999.parquet"
    with filesystem.open_output_stream(destination.key(stray)) as stream:
        stream.write(b"uploaded by a pass that died")
    result = ship_once(store.data_dir, destination, filesystem, grace=0)
    assert result.deleted == [stray]
    assert _object_paths(destination, filesystem) == _live_paths(store.data_dir) | {"manifest.json"}


def test_a_missing_bucket_an_endpoint_down_and_wrong_credentials_are_plain_sentences(
    store: SpanStore, s3_endpoint: str, locked_s3_endpoint: str, s3_credentials: dict[str, str]
) -> None:
    cases = [
        (_destination(s3_endpoint, "no-such-bucket"), "The bucket 'no-such-bucket' does not exist at"),
        (_destination(f"http://127.0.0.1:{free_port()}", "any"), "Could not reach the object store at http://127.0.0.1:"),
        (_destination(locked_s3_endpoint, "any"), "refused the credentials for s3://any/collector-a: check AWS_ACCESS_KEY_ID"),
    ]
    manifest_before = (store.data_dir / "manifest.json").read_bytes()
    for destination, sentence in cases:
        failed = _ship_command(store.data_dir, destination, "--grace", "0")
        assert failed.returncode == 1, failed.stderr
        first_line = failed.stderr.strip().splitlines()[-1]
        assert first_line.startswith("otel-feedback ship: ") and sentence in first_line, failed.stderr
        assert SECRET_KEY not in failed.stdout + failed.stderr
    # The collector's data directory is only read.
    assert (store.data_dir / "manifest.json").read_bytes() == manifest_before
    assert store.write_traces(traces_request(genai_trace(text="after")[1])) == _SPANS_PER_TRACE
    store.flush()


def test_every_keeps_shipping_after_failed_passes(store: SpanStore, s3_endpoint: str, new_bucket: str) -> None:
    missing = f"{new_bucket}-later"
    destination = _destination(s3_endpoint, missing)
    process = subprocess.Popen(
        [*_CLI, "ship", "--data", str(store.data_dir), "--to", destination.url, "--endpoint-url", s3_endpoint,
         "--every", "0.2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    failures: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + _MAX_WAIT_SECONDS
        for line in process.stderr:  # a pass every 0.2 s logs a line each time
            if f"The bucket '{missing}' does not exist" in line:
                failures.append(line)
                break
            assert time.monotonic() < deadline, "no failed pass was logged"
        assert failures, "the shipper stopped before a pass failed"
        bucket_creator(s3_endpoint).create_dir(missing)
        filesystem = open_filesystem(destination)
        while read_shipped_manifest(destination, filesystem) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert read_shipped_manifest(destination, filesystem) is not None, "no pass shipped after the failures"
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "The next pass tries again in 0.2 s." in failures[0]
    assert f"Shipped {store.data_dir} to {destination.url}" in rest


@pytest.mark.parametrize(
    ("url", "endpoint", "message"),
    [
        ("/data/bucket", None, "is not an object-storage URL"),
        ("s3://", None, "is not an object-storage URL"),
        ("s3://key:secret@bucket/p", None, "Put no credentials in the s3:// URL"),
        ("s3://bucket/p", "127.0.0.1:9000", "is not a URL: give http://HOST:PORT"),
    ],
)
def test_bad_destinations_are_refused_before_any_request(url: str, endpoint: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_destination(url, endpoint_url=endpoint)


def test_the_endpoint_defaults_to_the_aws_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/")
    destination = parse_destination("s3://bucket/a/b/")
    assert (destination.bucket, destination.prefix, destination.endpoint_url) == ("bucket", "a/b", "http://127.0.0.1:9000")
    assert destination.key("spans/x.parquet") == "bucket/a/b/spans/x.parquet"
    assert destination.url == "s3://bucket/a/b"
