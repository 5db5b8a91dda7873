"""start_span, trace ids per thread and task, update_current_trace, and the off switch."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.trace import StatusCode

import otel_feedback
from otel_feedback import _config, start_span, trace


def _hex(trace_id: int) -> str:
    return format(trace_id, "032x")


def test_start_span_handle(spans):
    with start_span("rerank", span_type="RERANKER", inputs={"docs": ["a", "b"]}, attributes={"k": 2}) as span:
        assert span.trace_id == otel_feedback.get_current_trace_id()
        assert span.span_id == otel_feedback.get_current_span_id()
        assert len(span.trace_id) == 32 and span.trace_id == span.trace_id.lower()
        span.set_outputs(["b", "a"])
        span.set_attribute("reranker.model", "tiny")
        span.set_attributes({"reranker.top_n": 2, "reranker.scores": {"a": 0.1}})
        span.add_event("scored", {"n": 2})
    exported = spans.one("rerank")
    attributes = exported.attributes
    assert attributes["openinference.span.kind"] == "RERANKER"
    assert json.loads(attributes["input.value"]) == {"docs": ["a", "b"]}
    assert json.loads(attributes["output.value"]) == ["b", "a"]
    assert attributes["reranker.model"] == "tiny"
    assert attributes["reranker.top_n"] == 2
    assert json.loads(attributes["reranker.scores"]) == {"a": 0.1}
    assert attributes["k"] == 2
    assert exported.events[0].name == "scored"
    assert otel_feedback.get_current_trace_id() is None


def test_start_span_nests_and_records_errors(spans):
    @trace
    def outer():
        with start_span("inner", span_type="TOOL") as span:
            span.set_inputs("plain text")
            raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        outer()
    inner, root = spans.one("inner"), spans.one("outer")
    assert inner.parent.span_id == root.context.span_id
    assert inner.status.status_code is StatusCode.ERROR
    assert inner.attributes["input.value"] == "plain text"
    assert inner.attributes["input.mime_type"] == "text/plain"
    assert root.status.status_code is StatusCode.ERROR


def test_start_span_set_status(spans):
    with start_span("checked") as span:
        span.set_status("ERROR", "guardrail tripped")
    assert spans.one("checked").status.status_code is StatusCode.ERROR
    assert spans.one("checked").status.description == "guardrail tripped"


def test_last_active_trace_id_follows_the_last_trace(spans):
    @trace
    def request(n):
        return n

    request(1)
    first = otel_feedback.get_last_active_trace_id()
    request(2)
    second = otel_feedback.get_last_active_trace_id()
    roots = spans.named("request")
    assert [first, second] == [_hex(s.context.trace_id) for s in roots]
    assert first != second


def test_last_active_trace_id_is_per_thread(spans):
    @trace
    def handle(n):
        return n

    barrier = threading.Barrier(8)
    seen: dict[int, tuple[str | None, str | None]] = {}

    def worker(n: int) -> None:
        barrier.wait()
        for _ in range(20):
            with start_span(f"request-{n}") as span:
                handle(n)
                mine = span.trace_id
            seen[n] = (mine, otel_feedback.get_last_active_trace_id())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8
    for mine, last in seen.values():
        assert mine == last
    assert len({mine for mine, _ in seen.values()}) == 8
    assert otel_feedback.get_last_active_trace_id() is None or all(
        otel_feedback.get_last_active_trace_id() != mine for mine, _ in seen.values()
    )


def test_last_active_trace_id_is_per_asyncio_task(spans):
    @trace
    async def chatbot(question):
        await asyncio.sleep(0.001)
        return question

    async def request(n: int) -> tuple[str | None, str]:
        await chatbot(n)
        await asyncio.sleep(0)  # let the other requests finish their traces in between
        last = otel_feedback.get_last_active_trace_id()
        return last, n

    async def main() -> list[tuple[str | None, int]]:
        return await asyncio.gather(*(request(n) for n in range(10)))

    results = asyncio.run(main())
    by_input = {json.loads(s.attributes["input.value"])["question"]: _hex(s.context.trace_id)
                for s in spans.named("chatbot")}
    assert len(by_input) == 10
    for last, n in results:
        assert last == by_input[n]


def test_threads_started_with_context_nest(spans):
    @trace(span_type="TOOL")
    def tool(x):
        return x

    @trace
    def fan_out():
        ctx = contextvars.copy_context()
        thread = threading.Thread(target=ctx.run, args=(tool, 1))
        thread.start()
        thread.join()
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(contextvars.copy_context().run, tool, i) for i in (2, 3)]
            return [f.result() for f in futures]

    fan_out()
    root = spans.one("fan_out")
    tools = spans.named("tool")
    assert len(tools) == 3
    assert {t.parent.span_id for t in tools} == {root.context.span_id}
    assert {t.context.trace_id for t in tools} == {root.context.trace_id}


def test_update_current_trace_writes_to_the_root(spans):
    @trace
    def inner():
        otel_feedback.update_current_trace(metadata={"step": "inner"}, tags={"release": "v2"})

    @trace
    def app():
        otel_feedback.update_current_trace(user="enduser_123", session="sess-9", metadata={"plan": "pro"},
                                           tags=["beta"])
        inner()

    app()
    root, child = spans.one("app"), spans.one("inner")
    assert root.attributes["user.id"] == "enduser_123"
    assert root.attributes["session.id"] == "sess-9"
    assert root.attributes["gen_ai.conversation.id"] == "sess-9"  # the GenAI name of the session
    assert json.loads(root.attributes["metadata"]) == {"plan": "pro", "step": "inner"}
    assert json.loads(root.attributes["otel_feedback.trace.tags"]) == {"beta": "", "release": "v2"}
    assert list(root.attributes["tag.tags"]) == ["beta", "release=v2"]
    assert "user.id" not in child.attributes and "metadata" not in child.attributes


def test_update_current_trace_under_a_foreign_span(spans):
    tracer = trace_api.get_tracer("someone-else")
    with tracer.start_as_current_span("http request"):
        otel_feedback.update_current_trace(user="u1")
    assert spans.one("http request").attributes["user.id"] == "u1"


def test_update_current_trace_without_a_trace_warns(spans, caplog):
    with caplog.at_level(logging.WARNING, logger="otel_feedback"):
        otel_feedback.update_current_trace(user="nobody")
    assert "no active trace" in caplog.text
    with pytest.raises(ValueError, match="tags must be a mapping"):
        otel_feedback.update_current_trace(tags="single")


def test_disabled_tracing_is_a_plain_call(spans):
    calls = []

    @trace
    def work(x):
        calls.append(x)
        return x + 1

    @trace
    def gen():
        yield from (1, 2)

    @trace
    async def coro():
        return 5

    original = _config.settings.enabled
    try:
        otel_feedback.configure(enabled=False)
        assert work(1) == 2
        assert list(gen()) == [1, 2]
        assert asyncio.run(coro()) == 5
        with start_span("noop") as span:
            span.set_outputs("ignored")
        assert spans.all() == []
        otel_feedback.configure(enabled=True)
        work(2)
        assert [s.name for s in spans.all()] == ["work"]
    finally:
        _config.settings.enabled = original
    assert calls == [1, 2]


def test_experiment_goes_on_root_spans_only(spans):
    @trace
    def child():
        return 1

    @trace
    def root():
        return child()

    previous = _config.settings.experiment
    try:
        otel_feedback.configure(experiment="chatbot-v2")
        root()
    finally:
        _config.settings.experiment = previous
    assert spans.one("root").attributes["otel_feedback.experiment"] == "chatbot-v2"
    assert spans.one("root").attributes["openinference.project.name"] == "chatbot-v2"
    assert "otel_feedback.experiment" not in spans.one("child").attributes
    assert "openinference.project.name" not in spans.one("child").attributes


def test_configure_validates_its_arguments():
    with pytest.raises(ValueError, match="protocol must be 'http/protobuf' or 'grpc'"):
        otel_feedback.configure(protocol="http/json")
    with pytest.raises(ValueError, match="max_content_chars must be a positive integer"):
        otel_feedback.configure(max_content_chars=0)
