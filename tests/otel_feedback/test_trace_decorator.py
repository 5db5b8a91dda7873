"""@trace on every kind of callable, through the real SDK and an in-memory exporter."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest
from opentelemetry.trace import StatusCode

import otel_feedback
from otel_feedback import SpanType, trace


def _inputs(span) -> dict:
    assert span.attributes["input.mime_type"] == "application/json"
    return json.loads(span.attributes["input.value"])


def _output(span):
    value = span.attributes["output.value"]
    if span.attributes["output.mime_type"] == "application/json":
        return json.loads(value)
    assert span.attributes["output.mime_type"] == "text/plain"
    return value


def test_plain_function_captures_inputs_output_and_type(spans):
    @trace
    def add(a, b=10, *, scale=1):
        return (a + b) * scale

    assert add(1, scale=2) == 22
    span = spans.one("add")
    assert _inputs(span) == {"a": 1, "b": 10, "scale": 2}
    assert _output(span) == 22
    assert span.attributes["openinference.span.kind"] == "UNKNOWN"
    assert span.parent is None
    assert span.status.status_code is StatusCode.UNSET
    assert otel_feedback.get_last_active_trace_id() == format(span.context.trace_id, "032x")


def test_string_output_is_plain_text(spans):
    @trace()
    def answer(question: str) -> str:
        return f"echo: {question}"

    answer("hi")
    span = spans.one("answer")
    assert span.attributes["output.value"] == "echo: hi"
    assert span.attributes["output.mime_type"] == "text/plain"


def test_options_name_type_and_attributes(spans):
    @trace(name="search-docs", span_type="RETRIEVER", attributes={"retriever.k": 3, "index": "docs"})
    def retrieve(query):
        return [{"id": 1, "text": query}]

    retrieve("q")
    span = spans.one("search-docs")
    assert span.attributes["openinference.span.kind"] == "RETRIEVER"
    assert "otel_feedback.span_type" not in span.attributes
    assert span.attributes["retriever.k"] == 3
    assert span.attributes["index"] == "docs"


@pytest.mark.parametrize("given", [SpanType.LLM, "LLM", "llm"])
def test_span_type_enum_or_string(spans, given):
    @trace(span_type=given)
    def call():
        return 1

    call()
    assert spans.one("call").attributes["openinference.span.kind"] == "LLM"


def test_types_openinference_lacks_keep_their_precise_name(spans):
    @trace(span_type=SpanType.CHAT_MODEL)
    def chat():
        return 1

    @trace(span_type="PARSER")
    def parse():
        return 2

    chat(), parse()
    assert spans.one("chat").attributes["openinference.span.kind"] == "LLM"
    assert spans.one("chat").attributes["otel_feedback.span_type"] == "CHAT_MODEL"
    assert spans.one("parse").attributes["openinference.span.kind"] == "CHAIN"
    assert spans.one("parse").attributes["otel_feedback.span_type"] == "PARSER"


def test_unknown_span_type_is_rejected_at_decoration():
    with pytest.raises(ValueError, match="span_type must be a SpanType or one of LLM, CHAT_MODEL"):
        trace(span_type="RETRIEVAL")


def test_nesting_parents_and_one_trace(spans):
    @trace(span_type="RETRIEVER")
    def retrieve(q):
        return ["doc"]

    @trace(span_type="LLM")
    def generate(q, docs):
        return "answer"

    @trace
    def chatbot(q):
        return generate(q, retrieve(q))

    chatbot("what?")
    root, retriever, llm = spans.one("chatbot"), spans.one("retrieve"), spans.one("generate")
    assert retriever.parent.span_id == root.context.span_id
    assert llm.parent.span_id == root.context.span_id
    assert {s.context.trace_id for s in (root, retriever, llm)} == {root.context.trace_id}


class Bot:
    greeting = "hello"

    @trace
    def reply(self, name):
        return f"{self.greeting} {name}"

    @trace
    @classmethod
    def make(cls, flavor):
        return f"{cls.__name__}:{flavor}"

    @classmethod
    @trace
    def make_inner(cls, flavor):
        return flavor

    @trace
    @staticmethod
    def shout(text):
        return text.upper()

    @staticmethod
    @trace(span_type="TOOL")
    def whisper(text):
        return text.lower()


def test_methods_leave_out_self_and_cls(spans):
    bot = Bot()
    assert bot.reply("ann") == "hello ann"
    assert Bot.make("x") == "Bot:x"
    assert Bot.make_inner("y") == "y"
    assert Bot.shout("a") == "A" and bot.shout("b") == "B"
    assert Bot.whisper("C") == "c"
    assert _inputs(spans.one("reply")) == {"name": "ann"}
    assert _inputs(spans.one("make")) == {"flavor": "x"}
    assert _inputs(spans.one("make_inner")) == {"flavor": "y"}
    assert [_inputs(s) for s in spans.named("shout")] == [{"text": "a"}, {"text": "b"}]
    assert spans.one("whisper").attributes["openinference.span.kind"] == "TOOL"


def test_varargs_and_kwargs_are_bound_by_name(spans):
    @trace
    def flexible(first, /, *rest, flag=False, **options):
        return len(rest)

    flexible(1, 2, 3, flag=True, temperature=0.2)
    assert _inputs(spans.one("flexible")) == {"first": 1, "rest": [2, 3], "flag": True, "temperature": 0.2}


def test_exception_is_recorded_and_propagates_unchanged(spans):
    error = KeyError("missing")

    @trace
    def fails():
        raise error

    with pytest.raises(KeyError) as caught:
        fails()
    assert caught.value is error
    span = spans.one("fails")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "KeyError: 'missing'"
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "KeyError"
    assert "output.value" not in span.attributes
    assert span.end_time is not None


def test_base_exceptions_end_the_span_without_marking_an_error(spans):
    @trace
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    span = spans.one("interrupted")
    assert span.status.status_code is StatusCode.UNSET
    assert span.end_time is not None


def test_capture_can_be_turned_off_per_function(spans):
    @trace(capture_inputs=False, capture_outputs=False)
    def secret(password):
        return password[::-1]

    secret("hunter2")
    attributes = spans.one("secret").attributes
    assert "input.value" not in attributes and "output.value" not in attributes
    assert "hunter2" not in json.dumps(dict(attributes))


def test_wrapper_keeps_name_doc_and_signature():
    import inspect

    @trace
    def documented(question: str, k: int = 3) -> str:
        """Answer a question."""
        return question

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Answer a question."
    assert list(inspect.signature(documented).parameters) == ["question", "k"]


# -- async -----------------------------------------------------------------------------------


def test_async_function_nests_across_await(spans):
    @trace(span_type="RETRIEVER")
    async def retrieve(q):
        await asyncio.sleep(0)
        return [q]

    @trace
    async def handler(q):
        docs = await retrieve(q)
        await asyncio.sleep(0)
        more = await asyncio.gather(retrieve("a"), retrieve("b"))
        return docs + [d for batch in more for d in batch]

    assert asyncio.run(handler("q")) == ["q", "a", "b"]
    root = spans.one("handler")
    children = spans.named("retrieve")
    assert len(children) == 3
    assert {c.parent.span_id for c in children} == {root.context.span_id}
    assert _output(root) == ["q", "a", "b"]


def test_async_exception_propagates(spans):
    @trace
    async def broken():
        await asyncio.sleep(0)
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        asyncio.run(broken())
    assert spans.one("broken").status.status_code is StatusCode.ERROR


# -- generators -------------------------------------------------------------------------------


def test_generator_span_covers_the_iteration(spans):
    @trace(span_type="TOOL")
    def step(i):
        return i

    @trace
    def numbers(n):
        for i in range(n):
            yield step(i)

    @trace
    def consumer_work(x):
        return x

    @trace
    def main():
        out = []
        for value in numbers(3):
            out.append(consumer_work(value))  # must NOT nest under the generator's span
        return out

    assert main() == [0, 1, 2]
    root, gen_span = spans.one("main"), spans.one("numbers")
    assert gen_span.parent.span_id == root.context.span_id
    assert {s.parent.span_id for s in spans.named("step")} == {gen_span.context.span_id}
    assert {s.parent.span_id for s in spans.named("consumer_work")} == {root.context.span_id}
    assert _output(gen_span) == [0, 1, 2]
    assert _inputs(gen_span) == {"n": 3}
    # The generator's span ends after its last child and before its parent.
    assert max(s.end_time for s in spans.named("step")) <= gen_span.end_time <= root.end_time


def test_generator_output_reducer_and_return_value(spans):
    @trace(output_reducer="".join)
    def tokens():
        yield "Hel"
        yield "lo"
        return "done"

    def delegate():
        result = yield from tokens()
        yield result

    assert list(delegate()) == ["Hel", "lo", "done"]
    assert spans.one("tokens").attributes["output.value"] == "Hello"


def test_generator_closed_early_ends_span_once(spans):
    @trace
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    gen = endless()
    assert [next(gen), next(gen)] == [0, 1]
    gen.close()
    gen.close()
    span = spans.one("endless")
    assert span.attributes["otel_feedback.generator.closed_early"] is True
    assert _output(span) == [0, 1]
    assert span.status.status_code is StatusCode.UNSET


def test_abandoned_generator_ends_its_span_when_collected(spans):
    @trace
    def stream():
        yield from range(10)

    gen = stream()
    next(gen)
    del gen
    gc.collect()
    span = spans.one("stream")
    assert span.end_time is not None
    assert span.attributes["otel_feedback.generator.closed_early"] is True


def test_generator_error_midway(spans):
    @trace
    def flaky():
        yield 1
        raise RuntimeError("stream broke")

    with pytest.raises(RuntimeError, match="stream broke"):
        list(flaky())
    span = spans.one("flaky")
    assert span.status.status_code is StatusCode.ERROR
    assert span.events[0].attributes["exception.message"] == "stream broke"


def test_generator_send_and_throw_are_forwarded(spans):
    @trace
    def accumulator():
        total = 0
        while True:
            try:
                value = yield total
            except ValueError:
                value = -100
            total += value

    gen = accumulator()
    assert next(gen) == 0
    assert gen.send(5) == 5
    assert gen.throw(ValueError("reset")) == -95
    gen.close()
    assert _output(spans.one("accumulator")) == [0, 5, -95]


def test_generator_not_started_makes_no_span(spans):
    @trace
    def lazy():
        yield 1

    lazy()
    gc.collect()
    assert spans.named("lazy") == []


def test_async_generator_span_covers_iteration(spans):
    @trace(span_type="TOOL")
    async def fetch(i):
        await asyncio.sleep(0)
        return i * 10

    @trace(output_reducer=sum)
    async def produce(n):
        for i in range(n):
            yield await fetch(i)

    @trace
    async def consume():
        got = []
        async for value in produce(3):
            got.append(await fetch(value))
        return got

    assert asyncio.run(consume()) == [0, 100, 200]
    root, gen_span = spans.one("consume"), spans.one("produce")
    fetches = spans.named("fetch")
    inner = [s for s in fetches if s.parent.span_id == gen_span.context.span_id]
    outer = [s for s in fetches if s.parent.span_id == root.context.span_id]
    assert len(inner) == 3 and len(outer) == 3
    assert gen_span.parent.span_id == root.context.span_id
    assert _output(gen_span) == 30


def test_async_generator_closed_early_and_error(spans):
    @trace
    async def ticks():
        i = 0
        while True:
            yield i
            i += 1

    @trace
    async def broken():
        yield 1
        raise ValueError("boom")

    async def run():
        agen = ticks()
        assert await agen.__anext__() == 0
        await agen.aclose()
        with pytest.raises(ValueError):
            async for _ in broken():
                pass

    asyncio.run(run())
    assert spans.one("ticks").attributes["otel_feedback.generator.closed_early"] is True
    assert spans.one("broken").status.status_code is StatusCode.ERROR


# -- inputs that are hard to capture ----------------------------------------------------------


def test_values_json_cannot_hold_fall_back_safely(spans):
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("repr exploded")

    cyclic: list = []
    cyclic.append(cyclic)

    @trace
    def takes(a, b, c, d):
        return {"set": {1}, (1, 2): "tuple key"}

    takes(Opaque(), Hostile(), cyclic, b"\x00\x01")
    span = spans.one("takes")
    inputs = _inputs(span)
    assert inputs["a"] == "<Opaque thing>"
    assert inputs["b"] == "<unserializable Hostile>"
    assert inputs["c"] == ["<cycle>"]
    assert inputs["d"] == "<2 bytes>"
    assert _output(span) == {"set": [1], "(1, 2)": "tuple key"}


def test_huge_inputs_are_capped(spans):
    @trace
    def big(text, rows):
        return len(rows)

    big("x" * 200_000, list(range(1_000_000)))
    span = spans.one("big")
    assert len(span.attributes["input.value"]) <= otel_feedback._serialize.max_chars + 20
    assert span.attributes["input.mime_type"] == "text/plain"
    assert span.attributes["otel_feedback.input.truncated"] is True
    assert span.attributes["input.value"].endswith("…[truncated]")


def test_a_fault_in_our_code_never_breaks_the_call(spans, monkeypatch, caplog):
    from otel_feedback import _serialize

    def explode(*_args, **_kwargs):
        raise RuntimeError("serializer bug")

    monkeypatch.setattr(_serialize, "serialize", explode)

    @trace
    def work(x):
        return x + 1

    assert work(1) == 2
    assert "could not start span 'work'" in caplog.text


def test_a_failing_tracer_never_breaks_the_call(spans, monkeypatch):
    from otel_feedback import _config

    class BrokenTracer:
        def start_span(self, *args, **kwargs):
            raise RuntimeError("tracer bug")

    monkeypatch.setattr(_config, "_tracer", BrokenTracer())

    @trace
    def work(x):
        return x * 2

    assert work(4) == 8
    assert list(trace(lambda: (yield 1))()) == [1]
