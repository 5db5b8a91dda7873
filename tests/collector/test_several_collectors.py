"""Several collectors behind a trace-id router, read as one (issue 18, docs/scaling.md).

Two real collectors on loopback receive, through ``otel_feedback_testing.trace_router`` (the
stand-in for the OpenTelemetry Collector's ``load_balancing`` exporter), 3-span traces that a
real app process exports with the SDK's OTLP exporter, and feedback it logs with
``log_feedback``. One more trace is deliberately split: some spans sent to each collector, one
span and one assessment sent to both. Then the two data directories are read as one through
``otel-feedback sql --data A --data B`` (the real command) and through ``otel-feedback serve
--read-only --data A --data B`` (a real process, its REST API), with exact counts.

Spark (another test module) reads the same directories: :func:`routed_collectors_data` hands
out the two directories and the expected counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from otel_feedback.evaluation import evaluate
from otel_feedback.scorers import scorer
from otel_feedback_collector.read_only import ReadOnlyStore
from otel_feedback_collector.server import CollectorProcess, CollectorServer
from otel_feedback_testing.trace_router import TraceRouter, backend_index

ROUTED_TRACES = 6  # at least: the app goes on until both collectors get a trace (ids are random)
FEEDBACK_ON = (0, 2, 4)  # which routed traces get a thumbs-down

APP = """
import json, otel_feedback
from otel_feedback import AssessmentSource, trace
from otel_feedback_testing.trace_router import backend_index
otel_feedback.configure({url!r}, service_name="routed-app")

@trace(span_type="RETRIEVER")
def retrieve(question):
    return ["doc about " + question]

@trace(span_type="LLM")
def answer(question, docs):
    return "answer to " + question

@trace
def chatbot(question):
    return answer(question, retrieve(question))

traces = []
number = 0
while len(traces) < {count} or len({{backend_index(bytes.fromhex(t), 2) for t in traces}}) < 2:
    chatbot(f"question {{number}}")
    traces.append(otel_feedback.get_last_active_trace_id())
    number += 1
assessments = {{}}
for number in {feedback_on!r}:
    logged = otel_feedback.log_feedback(trace_id=traces[number], name="user_feedback", value=False,
                                        rationale="off topic", source=AssessmentSource("HUMAN", "enduser_1"))
    assessments[traces[number]] = logged.assessment_id
print(json.dumps({{"traces": traces, "assessments": assessments, "flushed": otel_feedback.flush(10_000)}}))
"""

# The split trace: the root and its first child go to collector A, the second child to B, and
# the first child to B as well (a resend that reached the other collector).
SPLIT_TRACE = "5b1175b1175b1175b1175b1175b1175b"
SPLIT_ROOT, SPLIT_CHILD_1, SPLIT_CHILD_2 = "a000000000000001", "a000000000000002", "a000000000000003"
SPLIT_START = 1_700_000_000_000_000_000  # ns; the root starts first, child 2 ends last
SPLIT_ASSESSMENT = "split-trace-thumbs-up"


@dataclass(frozen=True)
class RoutedData:
    """What the collectors stored, and what any reader over both directories must find."""

    data_dirs: tuple[Path, Path]
    routed_traces: list[str]  # the app's trace ids, in order
    assessed: dict[str, str]  # trace id -> assessment id of its user_feedback
    expected_traces: int
    expected_spans: int
    expected_assessments: int
    expected_joined_rows: int  # spans joined with assessments on trace_id


def routed_collectors_data(data: RoutedData) -> tuple[tuple[Path, Path], dict[str, int]]:
    """SPARK CHECK HOOK: the two data directories and the exact counts a reader of both must
    give (``traces``, ``spans``, ``assessments``, ``joined``: span rows joined with assessment
    rows on trace_id; ``split_trace_spans``: the split trace's span count), for a check in
    another engine (Spark: ``test_spark_reads_both_directories_with_exact_counts``)."""
    counts = {
        "traces": data.expected_traces,
        "spans": data.expected_spans,
        "assessments": data.expected_assessments,
        "joined": data.expected_joined_rows,
        "split_trace_spans": 3,
    }
    return data.data_dirs, counts


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoutedData]:
    """Two collectors fed through the router (and the split trace sent around it); both
    flushed and stopped, so their directories hold everything in Parquet."""
    root = tmp_path_factory.mktemp("several")
    dirs = (root / "collector-a", root / "collector-b")
    with CollectorServer(dirs[0], port=0, grpc_port=None) as a, CollectorServer(dirs[1], port=0, grpc_port=None) as b:
        with TraceRouter([a.http_url, b.http_url]) as router:
            sent = _run_app(APP.format(url=router.url, count=ROUTED_TRACES, feedback_on=FEEDBACK_ON))
        assert sent["flushed"] and router.forwarded[0] and router.forwarded[1], router.forwarded
        _send_split_trace(a.http_url, b.http_url)
        a.store.flush()
        b.store.flush()
    routed_count = len(sent["traces"])
    assert len(set(sent["traces"])) == routed_count >= ROUTED_TRACES
    yield RoutedData(
        data_dirs=dirs,
        routed_traces=sent["traces"],
        assessed=sent["assessments"],
        expected_traces=routed_count + 1,
        expected_spans=3 * routed_count + 3,
        expected_assessments=len(FEEDBACK_ON) + 1,
        expected_joined_rows=3 * (len(FEEDBACK_ON) + 1),
    )


def _run_app(code: str) -> dict:
    """The app in its own interpreter (it installs global OTel providers), without the test's
    ``OTEL_*`` settings; returns the JSON its last line prints."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _span(span_id: str, parent: str | None, name: str, start_ms: int, end_ms: int, tokens: int) -> dict:
    return {"span_id": span_id, "parent": parent, "name": name, "start": SPLIT_START + start_ms * 1_000_000,
            "end": SPLIT_START + end_ms * 1_000_000, "tokens": tokens}


SPLIT_SPANS = {
    SPLIT_ROOT: _span(SPLIT_ROOT, None, "split-root", 0, 50, 0),
    SPLIT_CHILD_1: _span(SPLIT_CHILD_1, SPLIT_ROOT, "split-child-1", 5, 20, 10),
    SPLIT_CHILD_2: _span(SPLIT_CHILD_2, SPLIT_ROOT, "split-child-2", 25, 70, 5),
}


def _export(spans: list[dict]) -> bytes:
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="split-app")))
    scope = resource.scope_spans.add()
    for data in spans:
        span = scope.spans.add(
            trace_id=bytes.fromhex(SPLIT_TRACE), span_id=bytes.fromhex(data["span_id"]), name=data["name"],
            start_time_unix_nano=data["start"], end_time_unix_nano=data["end"], kind=1,
        )
        if data["parent"]:
            span.parent_span_id = bytes.fromhex(data["parent"])
        span.attributes.append(KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=data["tokens"])))
    return request.SerializeToString()


def _send_split_trace(url_a: str, url_b: str) -> None:
    """Around the router: spans of one trace to both collectors (one span twice), and the same
    assessment (same id) posted to both."""
    parts = {url_a: [SPLIT_ROOT, SPLIT_CHILD_1], url_b: [SPLIT_CHILD_1, SPLIT_CHILD_2]}
    for url, span_ids in parts.items():
        answer = httpx.post(f"{url}/v1/traces", content=_export([SPLIT_SPANS[s] for s in span_ids]),
                            headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert answer.status_code == 200, answer.text
    for url in (url_a, url_b):
        answer = httpx.post(f"{url}/api/v1/traces/{SPLIT_TRACE}/assessments", timeout=10, json={
            "name": "user_feedback", "value": True, "assessment_id": SPLIT_ASSESSMENT,
            "source": {"source_type": "HUMAN", "source_id": "enduser_2"}})
        assert answer.status_code == 201, answer.text


def _sql(query: str, data: RoutedData) -> list[dict]:
    """``otel-feedback sql --data A --data B --format json QUERY``, the real command."""
    args = [sys.executable, "-m", "otel_feedback.cli", "sql", "--format", "json", query]
    for directory in data.data_dirs:
        args += ["--data", str(directory)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _alone(data: RoutedData, index: int, query: str) -> list[dict]:
    return _sql(query, RoutedData(**{**data.__dict__, "data_dirs": (data.data_dirs[index],) * 2}))


def test_the_router_puts_each_trace_in_the_collector_its_id_hashes_to(routed: RoutedData) -> None:
    for index in (0, 1):
        stored = {row["trace_id"] for row in _alone(routed, index, "SELECT trace_id FROM traces")}
        expected = {t for t in routed.routed_traces if backend_index(bytes.fromhex(t), 2) == index}
        assert stored - {SPLIT_TRACE} == expected
        assessed = {row["trace_id"] for row in _alone(routed, index, "SELECT trace_id FROM assessments")}
        assert assessed - {SPLIT_TRACE} == {t for t in routed.assessed if t in expected}
    # Each directory alone holds part of the split trace (and child 1 in both).
    assert [_alone(routed, i, f"SELECT span_count FROM traces WHERE trace_id = '{SPLIT_TRACE}'") for i in (0, 1)] == [
        [{"span_count": 2}], [{"span_count": 2}]
    ]


def test_sql_over_both_directories_counts_each_span_and_assessment_once(routed: RoutedData) -> None:
    counts = _sql(
        "SELECT (SELECT count(*) FROM traces) AS traces, (SELECT count(*) FROM spans) AS spans, "
        "(SELECT count(*) FROM assessments) AS assessments, "
        "(SELECT count(*) FROM spans JOIN assessments USING (trace_id)) AS joined",
        routed,
    )
    assert counts == [{"traces": routed.expected_traces, "spans": routed.expected_spans,
                       "assessments": routed.expected_assessments, "joined": routed.expected_joined_rows}]
    joined = _sql(
        "SELECT s.trace_id, count(*) AS spans, any_value(a.assessment_id) AS assessment_id "
        "FROM spans s JOIN assessments a USING (trace_id) WHERE a.name = 'user_feedback' GROUP BY s.trace_id",
        routed,
    )
    assert {row["trace_id"]: (row["spans"], row["assessment_id"]) for row in joined} == {
        **{trace_id: (3, assessment_id) for trace_id, assessment_id in routed.assessed.items()},
        SPLIT_TRACE: (3, SPLIT_ASSESSMENT),
    }


def test_spark_reads_both_directories_with_exact_counts(routed: RoutedData, spark: Any) -> None:
    """Spark (local mode) over the same two directories, de-duplicating by key as docs/scaling.md
    says: the counts and the join equal those of `otel-feedback sql`."""
    (first, second), counts = routed_collectors_data(routed)
    raw_spans = spark.read.parquet(str(first / "spans"), str(second / "spans"))
    raw_log = spark.read.parquet(str(first / "assessments"), str(second / "assessments"))
    # The split trace's child 1 and its assessment sit in both directories: a plain union counts them twice.
    assert (raw_spans.count(), raw_log.count()) == (counts["spans"] + 1, counts["assessments"] + 1)

    raw_spans.dropDuplicates(["trace_id", "span_id"]).createOrReplaceTempView("routed_spans")
    raw_log.dropDuplicates(["assessment_id"]).createOrReplaceTempView("routed_assessments")
    row = spark.sql(
        "SELECT (SELECT count(DISTINCT trace_id) FROM routed_spans) AS traces, "
        "(SELECT count(*) FROM routed_spans) AS spans, (SELECT count(*) FROM routed_assessments) AS assessments, "
        "(SELECT count(*) FROM routed_spans JOIN routed_assessments USING (trace_id)) AS joined, "
        f"(SELECT count(*) FROM routed_spans WHERE trace_id = '{SPLIT_TRACE}') AS split_trace_spans"
    ).first()
    assert row.asDict() == counts
    per_trace = spark.sql(
        "SELECT s.trace_id, count(*) AS spans, first(a.assessment_id) AS assessment_id FROM routed_spans s "
        "JOIN routed_assessments a USING (trace_id) WHERE a.name = 'user_feedback' GROUP BY s.trace_id"
    ).collect()
    assert {r.trace_id: (r.spans, r.assessment_id) for r in per_trace} == {
        **{trace_id: (3, assessment_id) for trace_id, assessment_id in routed.assessed.items()},
        SPLIT_TRACE: (3, SPLIT_ASSESSMENT),
    }


def test_a_split_trace_reads_as_one_trace(routed: RoutedData) -> None:
    [row] = _sql(
        "SELECT name, span_count, input_tokens, epoch_ns(start_time) AS start_ns, epoch_ns(end_time) AS end_ns, "
        f"service_name FROM traces WHERE trace_id = '{SPLIT_TRACE}'",
        routed,
    )
    assert row == {"name": "split-root", "span_count": 3, "input_tokens": 15, "start_ns": SPLIT_START,
                   "end_ns": SPLIT_START + 70_000_000, "service_name": "split-app"}


@pytest.fixture(scope="module")
def read_only_server(routed: RoutedData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    first, second = routed.data_dirs
    log = open(tmp_path_factory.mktemp("read-only") / "serve.log", "wb")  # noqa: SIM115 - closed below
    try:
        with CollectorProcess(first, args=["--read-only", "--data", str(second)], log_file=log) as server:
            yield server
    finally:
        log.close()


def test_the_read_only_server_serves_both_directories(routed: RoutedData, read_only_server: CollectorProcess) -> None:
    api = f"{read_only_server.http_url}/api/v1"
    listed = httpx.get(f"{api}/traces", params={"max_results": 100}, timeout=30).json()["traces"]
    assert sorted(t["trace_id"] for t in listed) == sorted([*routed.routed_traces, SPLIT_TRACE])
    assert sum(t["span_count"] for t in listed) == routed.expected_spans
    detail = httpx.get(f"{api}/traces/{SPLIT_TRACE}", timeout=30).json()
    assert detail["trace"]["span_count"] == 3 and detail["trace"]["name"] == "split-root"
    assert sorted(span["span_id"] for span in detail["spans"]) == [SPLIT_ROOT, SPLIT_CHILD_1, SPLIT_CHILD_2]
    assert [a["assessment_id"] for a in detail["assessments"]] == [SPLIT_ASSESSMENT]
    found = httpx.post(f"{api}/traces/search", json={"filter": "assessments.user_feedback = false"}, timeout=30)
    assert found.status_code == 200, found.text
    assert sorted(t["trace_id"] for t in found.json()["traces"]) == sorted(routed.assessed)
    routed_detail = httpx.get(f"{api}/traces/{routed.routed_traces[0]}", timeout=30).json()
    assert len(routed_detail["spans"]) == 3
    assert [a["assessment_id"] for a in routed_detail["assessments"]] == [routed.assessed[routed.routed_traces[0]]]
    page = httpx.get(f"{read_only_server.http_url}/traces/{SPLIT_TRACE}", timeout=30)
    assert page.status_code == 200 and "split-root" in page.text
    assert "<dt>Spans</dt><dd>3</dd>" in page.text  # the UI's page: the span tree is fetched by its script


def test_the_read_only_server_refuses_writes_and_says_where_to_send_them(
    routed: RoutedData, read_only_server: CollectorProcess
) -> None:
    answer = httpx.post(f"{read_only_server.http_url}/api/v1/traces/{SPLIT_TRACE}/assessments", timeout=10,
                        json={"name": "user_feedback", "value": False})
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "READ_ONLY" and "collector that received the trace" in error["message"]
    export = httpx.post(f"{read_only_server.http_url}/v1/traces", content=_export([SPLIT_SPANS[SPLIT_ROOT]]),
                        headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert export.status_code == 403 and export.json()["error"]["code"] == "READ_ONLY"
    current = httpx.get(f"{read_only_server.http_url}/api/v1/traces/{SPLIT_TRACE}/assessments", timeout=10).json()
    assert [a["assessment_id"] for a in current["assessments"]] == [SPLIT_ASSESSMENT]


def test_the_read_only_server_reads_beside_running_collectors_and_sees_their_new_flushes(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    a = start_collector(data_dir=tmp_path / "a", grpc_port=None)
    b = start_collector(data_dir=tmp_path / "b", grpc_port=None)
    store = ReadOnlyStore([a.data_dir, b.data_dir])  # while both collectors hold their directories
    with CollectorServer(None, store=store, read_only=True, port=0, grpc_port=None) as reader:
        listed = lambda: httpx.get(f"{reader.http_url}/api/v1/traces", timeout=10).json()["traces"]  # noqa: E731
        assert listed() == []
        for number, collector in enumerate((a, b), start=1):
            spans = [{**SPLIT_SPANS[SPLIT_ROOT], "span_id": f"b00000000000000{number}"}]
            request = ExportTraceServiceRequest.FromString(_export(spans))
            request.resource_spans[0].scope_spans[0].spans[0].trace_id = bytes([number]) * 16
            answer = httpx.post(f"{collector.http_url}/v1/traces", content=request.SerializeToString(),
                                headers={"Content-Type": "application/x-protobuf"}, timeout=10)
            assert answer.status_code == 200
            collector.store.flush()
            assert sorted(t["trace_id"] for t in listed()) == [bytes([n]).hex() * 16 for n in range(1, number + 1)]
    store.close()


def test_evaluate_reads_both_directories_and_writes_the_run_under_the_first(routed: RoutedData) -> None:
    @scorer
    def span_count(trace) -> int:  # noqa: ANN001 - the scorer protocol's argument
        return len(trace.spans)

    result = evaluate(list(routed.data_dirs), scorers=[span_count])

    rows = {row["trace_id"]: row["span_count/value"] for row in result.rows.to_pylist()}
    assert rows == {trace_id: 3 for trace_id in [*routed.routed_traces, SPLIT_TRACE]}
    assert result.path is not None and Path(result.path).resolve().is_relative_to(routed.data_dirs[0].resolve())


def test_a_writing_collector_takes_one_directory(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "serve", "--data", str(tmp_path / "a"), "--data",
         str(tmp_path / "b"), "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "add --read-only" in done.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_read_only_ui_shows_the_split_trace_whole_and_the_refusal(
    read_only_server: CollectorProcess, browser: Any
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{read_only_server.http_url}/traces/{SPLIT_TRACE}")
    expect(page.locator(".span-row")).to_have_count(3)
    expect(page.locator("#assessment-list")).to_contain_text("user_feedback")
    page.locator("#add-assessment").click()
    page.locator("#f-name").fill("accuracy")
    page.locator("#f-submit").click()
    expect(page.locator("#form-error")).to_contain_text("read-only")
    page.close()
    assert errors == []


def test_search_traces_reads_a_list_of_data_directories(routed: RoutedData) -> None:
    from otel_feedback import search_traces

    dirs = [str(directory) for directory in routed.data_dirs]
    found = search_traces(data_dir=dirs, filter="assessments.user_feedback = false", return_type="list")
    assert sorted(row["trace_id"] for row in found) == sorted(routed.assessed)
    assert {row["span_count"] for row in found} == {3}
    split = search_traces(data_dir=dirs, sql=f"SELECT span_count FROM traces WHERE trace_id = '{SPLIT_TRACE}'",
                          return_type="list")
    assert split == [{"span_count": 3}]


def test_the_read_only_store_bounds_its_memory_and_spills_only_into_a_folder_of_its_own(routed: RoutedData) -> None:
    store = ReadOnlyStore(list(routed.data_dirs))
    connection = store.connect()
    spill, limit = connection.execute(
        "SELECT current_setting('temp_directory'), current_setting('memory_limit')"
    ).fetchone()
    connection.close()
    assert Path(spill).is_dir() and Path(spill).name.startswith("otel-feedback-read-only-")
    assert limit.endswith("MiB") and float(limit.split()[0]) <= 512
    store.close()
    assert not Path(spill).exists()
