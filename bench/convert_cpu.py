"""CPU per span of the collector's per-span Python: validation and OTLP -> Arrow conversion.

Two sets of request bodies, parsed once:

* ``genai``: the bodies of bench/ingest_1m.py (three-span GenAI traces, ~1.5 KB of text from a
  random-word pool, 100 traces per request);
* ``mixed``: spans the way OpenInference, MLflow, Langfuse, OpenLLMetry and the OTel GenAI
  conventions emit them, one convention per span, in turn.

For each set it prints CPU microseconds per span (``time.process_time``, one thread, best of
``--repeat``) of ``validate_request`` and of ``traces_request_to_rows``, next to a baseline
measured in the same run, protobuf ``ParseFromString`` of the same bodies, and the ratio to it
(the ratio is what the machine's load skews least). Then the writer's own step, from the bytes
the write-ahead log keeps: ``traces_payload_to_rows`` in Python (parse and convert) and through
the C extension, with how many requests the extension took (the others fall back to Python:
the mixed set's MLflow, Langfuse and OpenLLMetry spans do) and the ratio of the two.

    .venv/bin/python bench/convert_cpu.py [--requests 20] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_1m import text_pool  # noqa: E402

from otel_feedback_collector.otlp.signals import TRACES  # noqa: E402
from otel_feedback_collector.otlp.synthetic import genai_trace_request  # noqa: E402
from otel_feedback_collector.otlp.validation import validate_request  # noqa: E402
from otel_feedback_collector.storage import span_rows  # noqa: E402
from otel_feedback_collector.storage.span_rows import traces_payload_to_rows, traces_request_to_rows  # noqa: E402

_TRACES_PER_REQUEST = 100


def genai_bodies(requests: int, pool: list[str]) -> list[bytes]:
    """The ingest benchmark's request bodies (same builder, same text pool)."""
    rng = random.Random(15)
    start = time.time_ns()
    return [
        genai_trace_request(
            _TRACES_PER_REQUEST,
            start_unix_nano=start + number * _TRACES_PER_REQUEST * 1000,
            texts=rng.sample(pool, 2 * _TRACES_PER_REQUEST),
        ).SerializeToString()
        for number in range(requests)
    ]


def _convention_attributes(index: int, question: str, answer: str) -> dict[str, Any]:
    """One span's attributes in the convention ``index`` picks (five in turn)."""
    messages_in = json.dumps([{"role": "user", "content": question}])
    messages_out = json.dumps([{"role": "assistant", "content": answer}])
    convention = index % 5
    if convention == 0:  # OpenInference
        return {
            "openinference.span.kind": "LLM",
            "input.value": question,
            "input.mime_type": "text/plain",
            "output.value": answer,
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 300 + index % 17,
            "llm.token_count.completion": 200 + index % 13,
            "llm.token_count.total": 500 + index % 30,
            "session.id": f"session-{index % 50}",
            "user.id": f"user-{index % 200}",
        }
    if convention == 1:  # MLflow (JSON-encoded values)
        return {
            "mlflow.spanType": '"CHAT_MODEL"',
            "mlflow.spanInputs": messages_in,
            "mlflow.spanOutputs": messages_out,
            "mlflow.llm.model": '"gpt-4o-mini"',
            "mlflow.chat.tokenUsage": json.dumps({"input_tokens": 310, "output_tokens": 120, "total_tokens": 430}),
            "mlflow.traceRequestId": f'"tr-{index}"',
        }
    if convention == 2:  # Langfuse
        return {
            "langfuse.observation.type": "generation",
            "langfuse.observation.input": messages_in,
            "langfuse.observation.output": messages_out,
            "langfuse.observation.model.name": "claude-3-5-sonnet",
            "langfuse.observation.usage_details": json.dumps({"input": 280, "output": 95}),
            "langfuse.session.id": f"session-{index % 50}",
            "langfuse.user.id": f"user-{index % 200}",
        }
    if convention == 3:  # OpenLLMetry / Traceloop
        return {
            "traceloop.span.kind": "task",
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "You answer briefly.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": question,
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": answer,
            "gen_ai.usage.prompt_tokens": 290,
            "gen_ai.usage.completion_tokens": 110,
            "llm.usage.total_tokens": 400,
            "traceloop.association.properties.session_id": f"session-{index % 50}",
        }
    return {  # OpenTelemetry GenAI semantic conventions
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.input.messages": messages_in,
        "gen_ai.output.messages": messages_out,
        "gen_ai.usage.input_tokens": 350 + index % 13,
        "gen_ai.usage.output_tokens": 320 + index % 11,
        "gen_ai.conversation.id": f"conversation-{index % 50}",
        "enduser.id": f"user-{index % 200}",
    }


def _key_values(attributes: Mapping[str, Any]) -> list[KeyValue]:
    def value(item: Any) -> AnyValue:
        if isinstance(item, int):
            return AnyValue(int_value=item)
        return AnyValue(string_value=item)

    return [KeyValue(key=key, value=value(item)) for key, item in attributes.items()]


def mixed_bodies(requests: int, pool: list[str]) -> list[bytes]:
    """Requests of two-span traces (a root and a child), each span in one of five conventions."""
    rng = random.Random(16)
    bodies = []
    index = 0
    start = time.time_ns()
    for _ in range(requests):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(_key_values({"service.name": "mixed-demo"}))
        spans = resource_spans.scope_spans.add().spans
        for _ in range(_TRACES_PER_REQUEST * 3 // 2):
            trace_id, root_id, child_id = os.urandom(16), os.urandom(8), os.urandom(8)
            for span_id, parent in ((root_id, b""), (child_id, root_id)):
                question, answer = rng.sample(pool, 2)
                t0 = start + index * 1000
                spans.append(
                    Span(
                        trace_id=trace_id,
                        span_id=span_id,
                        parent_span_id=parent,
                        name=f"span-{index % 7}",
                        kind=Span.SPAN_KIND_CLIENT,
                        start_time_unix_nano=t0,
                        end_time_unix_nano=t0 + 500_000_000,
                        attributes=_key_values(_convention_attributes(index, question[:800], answer[:800])),
                    )
                )
                index += 1
        bodies.append(request.SerializeToString())
    return bodies


def best_cpu(run: Callable[[], object], repeat: int) -> float:
    """The least CPU seconds of ``repeat`` runs (the load of other processes only adds)."""
    best = float("inf")
    for _ in range(repeat):
        began = time.process_time()
        run()
        best = min(best, time.process_time() - began)
    return best


def measure(name: str, bodies: list[bytes], repeat: int) -> None:
    requests = []
    for body in bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        requests.append(request)
    spans = sum(len(scope.spans) for r in requests for rs in r.resource_spans for scope in rs.scope_spans)

    def parse() -> None:
        for body in bodies:
            ExportTraceServiceRequest().ParseFromString(body)

    def validate() -> None:  # every span is valid, so the requests are left as they are
        for request in requests:
            validate_request(TRACES, request)

    def convert() -> None:
        for request in requests:
            traces_request_to_rows(request)

    baseline = best_cpu(parse, repeat) / spans * 1e6
    print(f"{name}: {len(bodies)} requests, {spans} spans, best of {repeat}, CPU us/span")
    print(f"  {'ParseFromString (baseline)':<28} {baseline:8.2f}")
    for what, run in (("validate_request", validate), ("traces_request_to_rows", convert)):
        micros = best_cpu(run, repeat) / spans * 1e6
        print(f"  {what:<28} {micros:8.2f}   {micros / baseline:6.2f}x baseline")
    if not span_rows.native_rows_available():
        print("  (the C extension is not built: pip install -e . with a C compiler)")
        return
    python = best_cpu(lambda: [traces_payload_to_rows(body, native=False) for body in bodies], repeat)
    native = best_cpu(lambda: [traces_payload_to_rows(body, native=True) for body in bodies], repeat)
    from otel_feedback_collector.storage._otlp_rows import spans as native_spans

    taken = sum(native_spans(body, set()) is not None for body in bodies)
    print(f"  {'from bytes, Python':<28} {python / spans * 1e6:8.2f}")
    print(
        f"  {'from bytes, C extension':<28} {native / spans * 1e6:8.2f}   {native / python:6.2f}x Python"
        f"   ({taken} of {len(bodies)} requests taken)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="requests per set (100 traces each)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per figure; the best is shown")
    args = parser.parse_args()
    pool = text_pool(random.Random(15))
    measure("genai (bench/ingest_1m.py bodies)", genai_bodies(args.requests, pool), args.repeat)
    measure("mixed conventions", mixed_bodies(args.requests, pool), args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
