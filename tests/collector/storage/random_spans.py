"""Random span rows with every awkward case a summary meets, for the summary tests."""

from __future__ import annotations

import random

import pyarrow as pa

from otel_feedback_collector.storage.schema import SPAN_SCHEMA

_INT64_MAX = 2**63 - 1
# Attributes as the writer stores them (JSON text): own cost attributes that read as numbers,
# that do not, in either name, and the name only inside a text.
_ATTRIBUTES = [
    None,
    "{}",
    '{"gen_ai.usage.cost": 0.25}',
    '{"llm.cost.total": "0.5"}',
    '{"gen_ai.usage.cost": "n/a", "llm.cost.total": 0.125}',
    '{"gen_ai.usage.cost": -1.5}',
    '{"gen_ai.usage.cost": true}',
    '{"input.value": "what does gen_ai.usage.cost mean?"}',
    '{"input.value": "\\"gen_ai.usage.cost\\": 3"}',
]


def random_spans(rng: random.Random, rows: int, traces: int) -> pa.Table:
    """Span rows with every awkward case the summaries meet: NULLs in each summarised
    column, equal sort keys (ties), several roots or none, odd-length span ids, starts
    below zero and at the clamp, token counts, statuses, models and own cost attributes."""
    trace_ids = [f"{rng.getrandbits(128):032x}" for _ in range(traces)]
    seen: set[tuple[str, str]] = set()
    spans = []
    while len(spans) < rows:
        trace_id = rng.choice(trace_ids)
        span_id = f"{rng.getrandbits(64):016x}"[: rng.choice([16, 16, 16, 15, 1])]
        if (trace_id, span_id) in seen:
            continue
        seen.add((trace_id, span_id))
        start = rng.choice([rng.randint(0, 10**18), 5, 5, 7, -3, 2**62 + 9, _INT64_MAX])
        row = {field.name: None for field in SPAN_SCHEMA}
        row.update(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=rng.choice([None, None, "ab12", "cd34"]),
            name=rng.choice([None, "agent", "llm", "tool"]),
            input_preview=rng.choice([None, "in-a", "in-b"]),
            output_preview=rng.choice([None, "out-a", "out-b"]),
            experiment=rng.choice([None, "exp-1", "exp-2"]),
            service_name=rng.choice([None, "svc-1", "svc-2"]),
            start_time_unix_nano=start,
            end_time_unix_nano=rng.choice([None, start, rng.randint(0, 10**18)]),
            start_time=rng.choice([None, rng.randint(0, 10**15)]),
            end_time=rng.choice([None, rng.randint(0, 10**15)]),
            status_code=rng.choice([None, "OK", "ERROR", "UNSET", "UNSET"]),
            input_tokens=rng.choice([None, 0, 5, 10**6]),
            output_tokens=rng.choice([None, 1, 2**40]),
            total_tokens=rng.choice([None, 3, 10**9]),
            session_id=rng.choice([None, "s-a", "s-b", "s-c"]),
            user_id=rng.choice([None, "u-a", "u-b"]),
            input=rng.choice([None, "the question", "another question"]),
            output=rng.choice([None, "the answer"]),
            model=rng.choice([None, "gpt-4o-mini", "gpt-4o", "house-model"]),
            attributes=rng.choice(_ATTRIBUTES),
        )
        spans.append(row)
    table = pa.Table.from_pylist(spans, schema=SPAN_SCHEMA)
    cut = rng.randint(0, rows)  # several chunks, as concatenated record tables are
    return pa.concat_tables([table.slice(0, cut), table.slice(cut)])
