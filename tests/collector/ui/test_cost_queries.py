"""Dollars per trace from the trace index's cost inputs (storage/cost_inputs.py) are those the
spans give (``costs_from_spans``, the query every trace went through before): for traces with
several models, an own cost only, an unknown model, NULL tokens, a trace split across flushes
and across a merge, and for traces the index does not know (rebuilt, or written by an older
version); through a real collector, and on the HTML pages."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import httpx
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_feedback_collector.pricing import DEFAULT_PRICES, PriceTable, format_cost
from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage.manifest import read_manifest
from otel_feedback_collector.ui.cost_queries import costs_from_spans, stored_cost_inputs, trace_costs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "storage"))
from otlp_builders import make_span, traces_request  # noqa: E402

PRICES = PriceTable(DEFAULT_PRICES)
EXPERIMENT = "costs"
BASE_NS = 1_763_629_200_000_000_000
MINI = DEFAULT_PRICES["gpt-4o-mini"]
FOUR = DEFAULT_PRICES["gpt-4o"]


def _llm(model: str | None = None, tokens: tuple[int, int] | None = None, **extra: Any) -> dict[str, Any]:
    """An LLM span's attributes: its model, its (input, output) tokens, any other attribute."""
    attributes: dict[str, Any] = {"openinference.span.kind": "LLM"}
    if model is not None:
        attributes["gen_ai.request.model"] = model
    if tokens is not None:
        attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"] = tokens
    return {**attributes, **extra}


def _usd(model: Any, tokens: tuple[int, int]) -> float:
    return (tokens[0] * model.input + tokens[1] * model.output) / 1_000_000


# name: (the children of its root, what it costs (None: no figure)).
TRACES: dict[str, tuple[list[dict[str, Any]], float | None]] = {
    "two models": (
        [_llm("gpt-4o-mini", (1200, 300)), _llm("gpt-4o", (1000, 100)), _llm("gpt-4o-mini", (10, 5))],
        _usd(MINI, (1210, 305)) + _usd(FOUR, (1000, 100)),
    ),
    "own cost only": ([_llm("house-model", None, **{"gen_ai.usage.cost": 0.5})], 0.5),
    "unknown model": ([_llm("house-model", (100, 100))], None),
    "null tokens": ([_llm("gpt-4o"), _llm("gpt-4o-mini", (2000, 0))], _usd(MINI, (2000, 0))),
    "own cost over tokens": (
        [_llm("gpt-4o-mini", (1200, 300), **{"llm.cost.total": "0.3"}), _llm("gpt-4o", (100, 10))],
        0.3 + _usd(FOUR, (100, 10)),
    ),
    # A cost on a span without a model or tokens is not read for a trace (docs/ui.md, Cost).
    "cost without a model": (
        [{"gen_ai.usage.cost": 7.0}, _llm("gpt-4o", (400, 40))], _usd(FOUR, (400, 40))
    ),
    "negative own cost": ([_llm("gpt-4o-mini", (1000, 1000), **{"gen_ai.usage.cost": -1})], _usd(MINI, (1000, 1000))),
    "no llm": ([{"openinference.span.kind": "TOOL"}], None),
}
# Sent in two flushes: its first child in the first, the rest in the second.
SPLIT = "split across flushes"
TRACES[SPLIT] = (
    [_llm("gpt-4o-mini", (500, 50)), _llm("gpt-4o", (300, 30)), _llm("house-model", None, **{"gen_ai.usage.cost": 0.25})],
    _usd(MINI, (500, 50)) + _usd(FOUR, (300, 30)) + 0.25,
)


def _span(trace_id: bytes, name: str, attributes: dict[str, Any], *, index: int, parent: bytes | None) -> Span:
    return make_span(trace_id=trace_id, name=name, parent_span_id=parent, attributes=attributes,
                     start_ns=BASE_NS + index * 1_000_000, duration_ns=500_000)


def _send(server: CollectorServer, spans: Sequence[Span]) -> None:
    request = traces_request(spans, resource={"service.name": EXPERIMENT})
    response = httpx.post(f"{server.http_url}/v1/traces", content=request.SerializeToString(),
                          headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    response.raise_for_status()
    server.store.flush()


def send_traces(server: CollectorServer) -> dict[str, str]:
    """Every trace of TRACES (SPLIT over two flushes); returns their hex ids by name."""
    ids: dict[str, str] = {}
    first: list[Span] = []
    later: list[Span] = []
    for number, (name, (children, _)) in enumerate(TRACES.items()):
        trace_id = os.urandom(16)
        ids[name] = trace_id.hex()
        root = _span(trace_id, name, {"openinference.span.kind": "CHAIN", "input.value": name}, index=number * 10, parent=None)
        spans = [root] + [
            _span(trace_id, f"child {index}", attributes, index=number * 10 + index + 1, parent=root.span_id)
            for index, attributes in enumerate(children)
        ]
        first += spans[:2] if name == SPLIT else spans
        later += spans[2:] if name == SPLIT else []
    _send(server, first)
    _send(server, later)
    return ids


def _assert_costs(connection: duckdb.DuckDBPyConnection, ids: dict[str, str], *, stored: bool) -> None:
    """Each trace's dollars: as expected, the same as from its spans; read from the index
    (``stored``) or from the spans."""
    every = list(ids.values())
    costs = trace_costs(connection, PRICES, every)
    from_spans = costs_from_spans(connection, PRICES, every)
    assert costs.keys() == from_spans.keys()
    for trace_id, dollars in costs.items():
        assert math.isclose(dollars, from_spans[trace_id], rel_tol=1e-12)
    for name, trace_id in ids.items():
        expected = TRACES[name][1]
        assert (costs.get(trace_id) is None) == (expected is None), name
        if expected is not None:
            assert math.isclose(costs[trace_id], expected, rel_tol=1e-12), name
        # The one-trace path (the trace page) gives the same.
        assert trace_costs(connection, PRICES, [trace_id]).get(trace_id) == costs.get(trace_id)
    known = stored_cost_inputs(connection, every)
    assert set(known) == (set(every) if stored else set())


def _read(server: CollectorServer, check: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    connection = server.store.connect()
    try:
        check(connection)
    finally:
        connection.close()


def test_costs_from_the_index_are_those_of_the_spans_before_and_after_a_merge(collector: CollectorServer) -> None:
    ids = send_traces(collector)
    _read(collector, lambda c: _assert_costs(c, ids, stored=True))
    collector.store.compact(full=True)
    assert len({f.run for f in read_manifest(collector.store.data_dir).files["spans"]}) == 1  # the split trace's runs are one
    _read(collector, lambda c: _assert_costs(c, ids, stored=True))
    # And on the pages: every trace's cost in the traces table, and on its own page.
    table = httpx.get(f"{collector.http_url}/experiments/{EXPERIMENT}", timeout=10)
    table.raise_for_status()
    for name, trace_id in ids.items():
        expected = TRACES[name][1]
        if expected is not None:
            assert f'<td class="num cost" data-col="cost">{format_cost(expected)}</td>' in table.text, name
            page = httpx.get(f"{collector.http_url}/traces/{trace_id}", timeout=10)
            assert f'<dd id="trace-cost" class="cost">{format_cost(expected)}</dd>' in page.text, name
    assert table.text.count('<td class="num cost" data-col="cost"></td>') == 2  # unknown model, no LLM


def test_a_trace_that_gets_spans_in_many_flushes_keeps_one_cost_entry_per_model(collector: CollectorServer) -> None:
    """A long-lived trace (a chat session under one trace id) gets LLM spans flush after flush:
    the index keeps its sums per (model, has own cost), not one entry per flush, and prices
    them as its spans give them."""
    trace_id = os.urandom(16)
    root = _span(trace_id, "session", {"openinference.span.kind": "CHAIN"}, index=0, parent=None)
    _send(collector, [root])
    children = [
        _llm("gpt-4o-mini", (100 + turn, 10)) if turn % 3 else _llm("gpt-4o", (50, 5 + turn), **{"gen_ai.usage.cost": 0.01})
        for turn in range(12)
    ]
    for turn, attributes in enumerate(children):
        _send(collector, [_span(trace_id, f"turn {turn}", attributes, index=turn + 1, parent=root.span_id)])
    # And a trace without priced spans, over two flushes: known to cost nothing, not unknown.
    tool_trace = os.urandom(16)
    tool_root = _span(tool_trace, "tools", {"openinference.span.kind": "CHAIN"}, index=0, parent=None)
    _send(collector, [tool_root])
    _send(collector, [_span(tool_trace, "tool", {"openinference.span.kind": "TOOL"}, index=1, parent=tool_root.span_id)])
    hex_id = trace_id.hex()
    expected = sum(_usd(MINI, (100 + turn, 10)) for turn in range(12) if turn % 3) + 0.01 * 4

    def check(connection: duckdb.DuckDBPyConnection) -> None:
        (entries,) = connection.execute(
            "SELECT cost_inputs FROM trace_index WHERE trace_id = ?", [hex_id]
        ).fetchone()
        assert sorted((entry["model"], entry["has_own"]) for entry in entries) == [("gpt-4o", True), ("gpt-4o-mini", False)]
        mini = next(entry for entry in entries if entry["model"] == "gpt-4o-mini")
        assert (mini["input_tokens"], mini["output_tokens"], mini["own_cost"]) == (sum(100 + t for t in range(12) if t % 3), 80, None)
        assert math.isclose(trace_costs(connection, PRICES, [hex_id])[hex_id], expected, rel_tol=1e-12)
        assert math.isclose(costs_from_spans(connection, PRICES, [hex_id])[hex_id], expected, rel_tol=1e-12)
        assert connection.execute(
            "SELECT cost_inputs FROM trace_index WHERE trace_id = ?", [tool_trace.hex()]
        ).fetchone() == ([],)

    _read(collector, check)


def test_traces_the_index_does_not_know_are_priced_from_their_spans(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    """An index written by an older version (no cost column) is kept and learns the column; its
    rows are not known and read the spans, also once a flush adds to them; new traces are known."""
    data_dir = tmp_path / "older"
    first = start_collector(data_dir=data_dir, grpc_port=None)
    ids = send_traces(first)
    first.stop()
    index = duckdb.connect(str(data_dir / "trace_index.duckdb"))
    index.execute("ALTER TABLE trace_index DROP COLUMN cost_inputs")
    index.close()
    second = start_collector(data_dir=data_dir, grpc_port=None)
    _read(second, lambda c: _assert_costs(c, ids, stored=False))
    # A new trace is known; an unknown one stays unknown when more of its spans arrive.
    new_id = os.urandom(16)
    old_id = bytes.fromhex(ids["own cost only"])
    _send(second, [
        _span(new_id, "root", {}, index=500, parent=None),
        *[_span(new_id, "child", attributes, index=501, parent=None) for attributes in TRACES["two models"][0]],
        _span(old_id, "late", _llm("gpt-4o", (100, 10)), index=502, parent=None),
    ])

    def check(connection: duckdb.DuckDBPyConnection) -> None:
        assert set(stored_cost_inputs(connection, [new_id.hex(), old_id.hex()])) == {new_id.hex()}
        costs = trace_costs(connection, PRICES, [new_id.hex(), old_id.hex()])
        assert math.isclose(costs[new_id.hex()], TRACES["two models"][1], rel_tol=1e-12)
        assert math.isclose(costs[old_id.hex()], 0.5 + _usd(FOUR, (100, 10)), rel_tol=1e-12)

    _read(second, check)


def test_a_rebuilt_index_prices_from_the_spans(start_collector: Callable[..., CollectorServer], tmp_path: Path) -> None:
    data_dir = tmp_path / "rebuilt"
    first = start_collector(data_dir=data_dir, grpc_port=None)
    ids = send_traces(first)
    first.stop()
    (data_dir / "trace_index.duckdb").unlink()  # rebuilt from the Parquet summaries at start
    second = start_collector(data_dir=data_dir, grpc_port=None)
    _read(second, lambda c: _assert_costs(c, ids, stored=False))
