"""The native span rows (``_otlp_rows``, C reading the protobuf bytes itself) are exactly the
Python path's rows: the same table, the same assessments, the same ``seen`` keys, on random
requests of every convention and value kind, on every key normalize reads (alone and in pairs)
with every kind of value, on what SDKs send, on requests with each odd shape, on mutated and
broken payloads (protobuf's refusals are refused), on every code point and on thousands of
random doubles. The fast path is really taken for plain requests, and left (``None``, ``seen``
untouched) for every shape only Python handles.

Nothing here skips: without the built extension ``native=True`` raises and these tests fail.
"""

from __future__ import annotations

import dataclasses
import random
import re
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from google.protobuf.message import DecodeError
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from payload_mutations import (
    FIXED64,
    LEN,
    RAW,
    VARINT,
    Field,
    deeply_nested_array,
    deeply_nested_map,
    encode,
    encode_varint,
    mutations,
)
from random_requests import (
    DOUBLES,
    INT64_MAX,
    MAYBE_SHAPES,
    ODD_SHAPES,
    array_of,
    fast_span,
    payloads,
    random_request,
    request_with_shape,
    scalar,
)

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.storage import _otlp_rows
from otel_feedback_collector.storage.assessments import AssessmentRecord
from otel_feedback_collector.storage.normalize import _CONVENTION_KEYS
from otel_feedback_collector.storage.span_rows import (
    native_rows_available,
    traces_payload_to_rows,
    traces_request_to_rows,
)

_OTHER_KEY = ("0" * 31 + "1", "0" * 15 + "1")  # a key of no span of these requests
_REPO = Path(__file__).resolve().parents[3]


@dataclasses.dataclass
class _Outcome:
    table: pa.Table | None
    assessments: list[AssessmentRecord] | None
    error: Exception | None
    seen: set[tuple[str, str]]


def _python(payload: bytes, seen: set[tuple[str, str]]) -> _Outcome:
    seen = set(seen)
    try:
        request = ExportTraceServiceRequest.FromString(payload)
        table, assessments = traces_request_to_rows(request, seen=seen)
    except Exception as error:  # compared with the native outcome below
        return _Outcome(None, None, error, seen)
    return _Outcome(table, assessments, None, seen)


def _native(payload: bytes, seen: set[tuple[str, str]]) -> _Outcome:
    seen = set(seen)
    try:
        table, assessments = traces_payload_to_rows(payload, seen=seen, native=True)
    except Exception as error:
        return _Outcome(None, None, error, seen)
    return _Outcome(table, assessments, None, seen)


def _spans(payload: bytes) -> list[Any]:
    try:
        request = ExportTraceServiceRequest.FromString(payload)
    except DecodeError:
        return []
    return [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]


def _first_difference(native: pa.Table, python: pa.Table, payload: bytes) -> str:
    """Where two tables first differ, with the span of that row as text (the reproducer)."""
    if native.num_rows != python.num_rows:
        return f"native has {native.num_rows} rows, python {python.num_rows}"
    for name in python.schema.names:
        left, right = native.column(name).to_pylist(), python.column(name).to_pylist()
        for row, (a, b) in enumerate(zip(left, right)):
            if a != b and not (a != a and b != b):  # NaN equals NaN here
                key = (python.column("trace_id")[row].as_py(), python.column("span_id")[row].as_py())
                span = next((s for s in _spans(payload) if (s.trace_id.hex(), s.span_id.hex()) == key), None)
                if isinstance(a, str) and isinstance(b, str):  # long texts: where they part
                    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                    a, b = a[max(0, at - 80) : at + 80], b[max(0, at - 80) : at + 80]
                return (
                    f"column {name!r}, row {row}:\n  native: {a!r}\n  python: {b!r}\n"
                    f"span:\n{str(span)[:3000]}"
                )
    return "the tables differ in their chunks or types only"


def _comparable(records: list[AssessmentRecord], started_ns: int) -> list[str]:
    # An event with no time on a span with no end is stamped with the clock: not comparable.
    # Compared as text, where a NaN score equals a NaN score.
    return [
        repr(dataclasses.replace(record, created_time_unix_nano=0)
             if record.created_time_unix_nano >= started_ns else record)
        for record in records
    ]


def assert_same_rows(payload: bytes, seen: set[tuple[str, str]] | None = None) -> None:
    """``traces_payload_to_rows(native=True)`` and the Python path agree on ``payload``."""
    seen = set() if seen is None else seen
    started_ns = time.time_ns()
    native = _native(payload, seen)
    python = _python(payload, seen)
    if native.error is not None or python.error is not None:
        assert native.error is not None and python.error is not None, (
            f"only one path failed: native {native.error!r}, python {python.error!r}; "
            f"payload {payload.hex()[:400]}"
        )
        assert native.seen == python.seen == seen, "a failed conversion must leave `seen` as it was"
        return
    assert native.table is not None and python.table is not None
    # Buffers made outside pyarrow: offsets, validity bitmaps, null counts and UTF-8 all sound.
    native.table.validate(full=True)
    assert native.table.schema.equals(python.table.schema, check_metadata=True)
    if not native.table.equals(python.table):
        pytest.fail(_first_difference(native.table, python.table, payload))
    assert _comparable(native.assessments or [], started_ns) == _comparable(python.assessments or [], started_ns)
    assert native.seen == python.seen


def _keys(payload: bytes) -> list[tuple[str, str]]:
    return [(span.trace_id.hex(), span.span_id.hex()) for span in _spans(payload)]


def test_the_native_module_is_built_and_native_false_is_the_python_path() -> None:
    assert native_rows_available()
    payload = payloads(1, 1, odd=0.0)[0]
    table, _ = traces_payload_to_rows(payload, native=False)
    assert table.equals(traces_request_to_rows(ExportTraceServiceRequest.FromString(payload))[0])


def test_without_the_extension_python_converts_and_native_true_says_how_to_build_it() -> None:
    # An install without a C compiler: the module cannot be imported (None in sys.modules makes
    # the import fail as a missing one does).
    code = """
import sys
sys.modules["otel_feedback_collector.storage._otlp_rows"] = None
sys.path.insert(0, "tests/collector/storage")
from random_requests import payloads
from otel_feedback_collector.storage.span_rows import (
    native_rows_available, traces_payload_to_rows, traces_request_to_rows)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
assert not native_rows_available()
payload = payloads(1, 1, odd=0.0)[0]
seen = set()
table, _ = traces_payload_to_rows(payload, seen=seen)
assert table.equals(traces_request_to_rows(ExportTraceServiceRequest.FromString(payload))[0])
assert len(seen) == table.num_rows
try:
    traces_payload_to_rows(payload, native=True)
except RuntimeError as error:
    print(error)
else:
    raise SystemExit("native=True did not raise")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=_REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pip install" in result.stdout


@pytest.mark.parametrize("odd", [0.0, 0.05, 0.3])
def test_random_requests_give_the_python_rows(odd: float) -> None:
    for payload in payloads(int(odd * 100) + 11, 250, odd=odd):
        assert_same_rows(payload)


def test_a_seen_set_that_holds_some_of_the_keys_gives_the_python_rows() -> None:
    rng = random.Random(21)
    for payload in payloads(22, 200, odd=0.05):
        keys = _keys(payload)
        seen = {_OTHER_KEY, *rng.sample(keys, rng.randint(0, len(keys)))}
        assert_same_rows(payload, seen)


@pytest.mark.parametrize("shape", [*ODD_SHAPES, *MAYBE_SHAPES])
def test_each_odd_shape_gives_the_python_rows(shape: str) -> None:
    rng = random.Random(shape)
    make = {**ODD_SHAPES, **MAYBE_SHAPES}[shape]
    for _ in range(15):
        payload = request_with_shape(rng, make).SerializeToString()
        assert_same_rows(payload, {_OTHER_KEY})


def _taken(request: ExportTraceServiceRequest) -> bool:
    return _otlp_rows.spans(request.SerializeToString(), set()) is not None


def _refused_part(request: ExportTraceServiceRequest) -> str:
    """The smallest part of a refused request found refused on its own: one span with one
    attribute, or its resource and scope without span attributes (a reproducer to report)."""
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                single = ExportTraceServiceRequest()
                part = single.resource_spans.add()
                part.CopyFrom(resource_spans)
                del part.scope_spans[:]
                scope = part.scope_spans.add()
                scope.CopyFrom(scope_spans)
                del scope.spans[:]
                bare = scope.spans.add()
                bare.CopyFrom(span)
                if _taken(single):
                    continue
                del bare.attributes[:]
                if not _taken(single):
                    return f"refused without its span attributes:\n{single}"
                for attribute in span.attributes:
                    del bare.attributes[:]
                    bare.attributes.append(attribute)
                    if not _taken(single):
                        return f"refused for one attribute:\n{attribute}\nin\n{single}"
                return f"refused for its attributes together:\n{single}"
    return f"refused as a whole only:\n{request}"


def test_plain_requests_take_the_fast_path() -> None:
    # If the C fell back to Python for everything, every other test here would still pass.
    for payload in payloads(31, 200, odd=0.0):
        request = ExportTraceServiceRequest.FromString(payload)
        assert _taken(request), _refused_part(request)[:4000]


@pytest.mark.parametrize("shape", list(ODD_SHAPES))
def test_odd_shapes_leave_the_fast_path_and_seen_as_it_was(shape: str) -> None:
    rng = random.Random(shape + "/fallback")
    for index in range(10):
        # On the last span, so a converter that adds keys as it goes has added some by then.
        request = request_with_shape(rng, ODD_SHAPES[shape], last=index % 2 == 0)
        payload = request.SerializeToString()
        seen = {_OTHER_KEY, *_keys(payload)[:1]}
        before = set(seen)
        assert _otlp_rows.spans(payload, seen) is None, f"{shape} was taken by the fast path:\n{request}"[:4000]
        assert seen == before


_MARKER = "Zq7Zq7"


@pytest.mark.parametrize("where", ["key", "value", "name", "resource", "scope", "status", "trace_state", "array"])
@pytest.mark.parametrize("bad", [b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82"])
def test_invalid_utf8_is_refused_like_the_python_path(where: str, bad: bytes) -> None:
    rng = random.Random(where)
    request = random_request(rng, odd=0.0)
    span = request.resource_spans[0].scope_spans[0].spans.add()
    span.CopyFrom(fast_span(rng, b"\x01" * 16, b""))
    if where == "key":
        span.attributes.add(key=_MARKER, value=AnyValue(int_value=1))
    elif where == "value":
        span.attributes.add(key="input.value", value=AnyValue(string_value=_MARKER))
    elif where == "array":
        value = AnyValue()
        value.array_value.values.add(string_value=_MARKER)
        span.attributes.add(key="tags", value=value)
    elif where == "name":
        span.name = _MARKER
    elif where == "resource":
        request.resource_spans[0].resource.attributes.add(key="service.name", value=AnyValue(string_value=_MARKER))
    elif where == "scope":
        request.resource_spans[0].scope_spans[0].scope.name = _MARKER
    elif where == "status":
        span.status.message = _MARKER
    else:
        span.trace_state = _MARKER
    payload = request.SerializeToString()
    assert payload.count(_MARKER.encode()) == 1
    broken = payload.replace(_MARKER.encode(), (b"Z" + bad + b"qqqqq")[: len(_MARKER)])
    assert len(broken) == len(payload)
    with pytest.raises(DecodeError):
        ExportTraceServiceRequest.FromString(broken)
    seen = {_OTHER_KEY}
    try:
        result = _otlp_rows.spans(broken, seen)
    except Exception:
        result = None
    assert result is None, "the fast path took a payload with invalid UTF-8"
    assert seen == {_OTHER_KEY}
    with pytest.raises(Exception):
        traces_payload_to_rows(broken, seen=seen, native=True)
    assert seen == {_OTHER_KEY}


def _refused_or_same_rows(payload: bytes) -> bool:
    """The native path refuses ``payload`` (None or a clean exception, ``seen`` untouched) or
    takes it and gives the Python rows; a payload protobuf refuses must be refused. Returns
    whether it was taken."""
    seen = {_OTHER_KEY}
    try:
        result = _otlp_rows.spans(payload, seen)
    except Exception:  # a clean refusal; the Python path decides
        result = None
    if result is None:
        assert seen == {_OTHER_KEY}, f"`seen` changed by a refused payload {payload.hex()}"
        return False
    try:
        ExportTraceServiceRequest.FromString(payload)
    except DecodeError as error:
        pytest.fail(f"the fast path took a payload protobuf refuses ({error}): {payload.hex()}")
    assert_same_rows(payload, {_OTHER_KEY})
    return True


def test_mutated_payloads_are_refused_or_give_the_python_rows() -> None:
    rng = random.Random(41)
    bases = payloads(42, 24, odd=0.0, max_spans=4) + payloads(43, 8, odd=0.2, max_spans=4)
    outcomes = [_refused_or_same_rows(payload) for base in bases for payload in mutations(base, rng, 100)]
    assert outcomes.count(True) > 100 and outcomes.count(False) > 100


def _request(span: list[Field] | None = None, *, resource: list[Field] | None = None,
             scope: list[Field] | None = None) -> list[Field]:
    """A request's wire tree with one resource, one scope and one span."""
    span = span if span is not None else _span()
    scope_spans: list[Field] = ([[1, LEN, scope]] if scope is not None else []) + [[2, LEN, span]]
    resource_spans: list[Field] = ([[1, LEN, resource]] if resource is not None else []) + [[2, LEN, scope_spans]]
    return [[1, LEN, resource_spans]]


def _span(*extra: Field, ids: bool = True) -> list[Field]:
    fields: list[Field] = [[1, LEN, b"\x01" * 16], [2, LEN, b"\x02" * 8]] if ids else [[2, LEN, b"\x02" * 8]]
    return fields + [[5, LEN, b"name"], [7, FIXED64, 10], [8, FIXED64, 20], *extra]


def _attribute(key: bytes, value: bytes) -> Field:
    return [9, LEN, [[1, LEN, key], [2, LEN, value]]]


def _long_varint_payloads() -> dict[str, bytes]:
    span = encode(_span())
    return {
        "request's first tag in 6 bytes": encode_varint(1 << 3 | LEN, padding=5) + b"\x00",
        "resource_spans' length in 6 bytes": b"\x0a" + encode_varint(0, padding=5),
        "a span's length in 6 bytes": encode(
            [[1, LEN, [[2, LEN, [[0, RAW, b"\x12" + encode_varint(len(span), padding=5) + span]]]]]]
        ),
        "an attribute key's tag in 10 bytes": encode(_request(_span([0, RAW, b"\x4a\x11" + encode_varint(0x0a, padding=9) + b"\x01k\x12\x04\x0a\x02ok"]))),
        "a 5-byte length (taken by protobuf)": b"\x0a" + encode_varint(0, padding=4),
        "an int value in 10 bytes (taken by protobuf)": encode(_request(_span(_attribute(b"n", b"\x18" + encode_varint(7, padding=9))))),
    }


_BAD = b"M\xffRK"
_BROKEN_PAYLOADS: dict[str, bytes] = {
    **_long_varint_payloads(),
    "skipped span (no trace id), invalid name": encode(_request([[2, LEN, b"\x02" * 8], [5, LEN, _BAD]])),
    "skipped span (no trace id), invalid trace_state": encode(_request(_span([3, LEN, _BAD], ids=False))),
    "skipped span (zero span id), invalid status message": encode(_request(
        [[1, LEN, b"\x01" * 16], [2, LEN, bytes(8)], [15, LEN, [[2, LEN, _BAD]]]])),
    "skipped span (no trace id), invalid text in an array": encode(_request(_span(
        _attribute(b"k", encode([[5, LEN, [[1, LEN, [[1, LEN, _BAD]]]]]])), ids=False))),
    "span name twice, the first one invalid": encode(_request(_span([5, LEN, _BAD], [5, LEN, b"ok"]))),
    "trace_state twice, the first one invalid": encode(_request(_span([3, LEN, _BAD], [3, LEN, b"ok"]))),
    "resource entity_ref with an invalid type": encode(_request(resource=[[3, LEN, [[2, LEN, _BAD]]]])),
    "resource entity_ref (valid)": encode(_request(resource=[[3, LEN, [[2, LEN, b"service"], [3, LEN, b"service.name"]]]])),
    **{
        f"{depth} nested arrays in a {where} attribute": encode(
            _request(_span(_attribute(b"deep", deeply_nested_array(depth))))
            if where == "span"
            else _request(resource=[[1, LEN, [[1, LEN, b"deep"], [2, LEN, deeply_nested_array(depth)]]]])
        )
        for depth in (46, 47, 48, 49, 50, 64, 65, 66)
        for where in ("span", "resource")
    },
    **{
        f"{depth} nested maps in a {where} attribute": encode(
            _request(_span(_attribute(b"deep", deeply_nested_map(depth))))
            if where == "span"
            else _request(_span([11, LEN, [[2, LEN, b"log"], [3, LEN, [[1, LEN, b"deep"], [2, LEN, deeply_nested_map(depth)]]]]]))
        )
        for depth in (29, 30, 31, 32, 33, 64, 65, 66)
        for where in ("span", "event")
    },
    "event name twice, the first one invalid": encode(_request(_span([11, LEN, [[2, LEN, _BAD], [2, LEN, b"log"]]]))),
    # string_value_strindex (AnyValue field 8) is a member of the `value` oneof: the last one
    # set wins, so these values are None in Python.
    "string value, then string_value_strindex": encode(_request(_span(_attribute(b"input.value", b"\x0a\x01x\x40\x05")))),
    "int value, then string_value_strindex": encode(_request(_span(_attribute(b"n", b"\x18\x07\x40\x05")))),
    "string_value_strindex, then a string value": encode(_request(_span(_attribute(b"input.value", b"\x40\x05\x0a\x01x")))),
    "key_strindex beside the key": encode(_request(_span([9, LEN, [[1, LEN, b"k"], [3, VARINT, 4], [2, LEN, b"\x0a\x01x"]]]))),
}


@pytest.mark.parametrize("case", list(_BROKEN_PAYLOADS))
def test_wire_oddities_are_refused_like_protobuf_refuses_them_or_give_the_python_rows(case: str) -> None:
    _refused_or_same_rows(_BROKEN_PAYLOADS[case])


def _random_doubles(rng: random.Random, count: int) -> list[float]:
    """Random bit patterns (NaNs, infinities and subnormals included), and numbers near the
    places where ``repr`` changes notation or rounding is hard."""
    values = list(DOUBLES)
    values += [9999999999999998.0, 1e16 - 2, 0.0001, 0.00009999999999999999, 1e-5, 123e-7,
               2.0**53, 2.0**53 + 2, -(2.0**63), 2.0**64, 1 / 3, 2 / 3, 0.3, 1e23, 8.41e21,
               5e-324 * 3, 2.2250738585072009e-308, 4.35, 0.1 + 0.2]
    while len(values) < count:
        choice = rng.randrange(4)
        if choice == 0:
            values.append(struct.unpack("<d", rng.randbytes(8))[0])
        elif choice == 1:
            values.append(rng.random() * 10.0 ** rng.randint(-30, 30))
        elif choice == 2:
            values.append(round(rng.uniform(-1e6, 1e6), rng.randint(0, 8)))
        else:
            values.append(float(rng.getrandbits(rng.randint(1, 64))) * rng.choice([1, -1, 0.5, 0.25]))
    return values


def test_doubles_are_written_as_python_writes_them() -> None:
    rng = random.Random(51)
    doubles = _random_doubles(rng, 6000)
    for start in range(0, len(doubles), 500):
        chunk = doubles[start : start + 500]
        request = ExportTraceServiceRequest()
        spans = request.resource_spans.add().scope_spans.add().spans
        span = spans.add()
        span.CopyFrom(fast_span(rng, rng.randbytes(16), b""))
        del span.attributes[:]
        for index, value in enumerate(chunk[:400]):
            span.attributes.add(key=f"d{index}", value=AnyValue(double_value=value))
        array = AnyValue()
        array.array_value.values.extend(AnyValue(double_value=value) for value in chunk[400:])
        span.attributes.add(key="doubles", value=array)
        # A double as a promoted text, and as token counts (truncated to whole tokens).
        span.attributes.add(key="input.value", value=AnyValue(double_value=chunk[0]))
        span.attributes.add(key="llm.token_count.prompt", value=AnyValue(double_value=chunk[1]))
        span.attributes.add(key="gen_ai.usage.output_tokens", value=AnyValue(double_value=abs(chunk[2])))
        payload = request.SerializeToString()
        assert _otlp_rows.spans(payload, set()) is not None, "doubles must stay on the fast path"
        assert_same_rows(payload)


def _set_attribute(span: Any, key: str, value: AnyValue) -> None:
    """Set ``key`` on a span, replacing the value it has (a repeated key leaves the fast path)."""
    kept = [kv for kv in span.attributes if kv.key != key]
    del span.attributes[:]
    span.attributes.extend(kept)
    span.attributes.add(key=key, value=value)


def _one_scope_request(rng: random.Random, spans: int) -> tuple[ExportTraceServiceRequest, list[Any]]:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().resource.attributes.add(key="service.name", value=AnyValue(string_value="svc"))
    scope = request.resource_spans[0].scope_spans.add()
    made = []
    for _ in range(spans):
        span = scope.spans.add()
        span.CopyFrom(fast_span(rng, rng.randbytes(16), b""))
        made.append(span)
    return request, made


def test_every_code_point_is_written_as_python_writes_it() -> None:
    # Every Unicode scalar value, in texts of 4096 characters, as values, keys, promoted
    # texts, names and status messages.
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = ["".join(points[i : i + 4096]) for i in range(0, len(points), 4096)]
    rng = random.Random(61)
    request, spans = _one_scope_request(rng, 8)
    for index, text in enumerate(texts):
        span = spans[index % len(spans)]
        span.attributes.add(key=f"{index}:{text[:40]}", value=AnyValue(string_value=text))
    for span, text in zip(spans, texts):
        _set_attribute(span, "output.value", AnyValue(string_value=text))
        span.name = text[:300]
        span.status.message = text[-300:]
    payload = request.SerializeToString()
    assert _otlp_rows.spans(payload, set()) is not None, "valid UTF-8 of any code point stays on the fast path"
    assert_same_rows(payload)


def test_a_large_request_gives_the_python_rows() -> None:
    # Hundreds of spans, texts of hundreds of KB and spans of hundreds of attributes: the
    # buffers of the native path grow many times.
    rng = random.Random(71)
    request, spans = _one_scope_request(rng, 400)
    long_text = ("The answer is 42; ünïcödé 😀 \"quoted\"\n" * 9000)[:300_000]
    for index, span in enumerate(spans):
        if index % 50 == 0:
            _set_attribute(span, "input.value", AnyValue(string_value=long_text[index:]))
        if index % 97 == 0:
            for number in range(300):
                span.attributes.add(key=f"extra.{number}", value=AnyValue(int_value=number * 7919))
    payload = request.SerializeToString()
    assert _otlp_rows.spans(payload, set()) is not None
    assert_same_rows(payload)


def _sdk_payload() -> bytes:
    """Spans as the OpenTelemetry SDK and its OTLP encoder send them: a GenAI trace with an
    exception event, a link, array attributes, an error status and a resource of SDK facts."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-app", "deployment.environment": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("native-rows", "1.2.3")
    with tracer.start_as_current_span(
        "answer", attributes={"openinference.span.kind": "CHAIN", "input.value": "q?", "session.id": "s-1",
                              "tag.tags": ["a", "b"], "scores": [0.5, 1e-7], "flags": [True, False]}
    ) as root:
        with tracer.start_as_current_span(
            "chat gpt-x", kind=SpanKind.CLIENT, links=[Link(root.get_span_context(), {"link.reason": "retry"})],
            attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-x",
                        "gen_ai.usage.input_tokens": 7, "gen_ai.usage.output_tokens": 3},
        ) as llm:
            llm.add_event("gen_ai.choice", {"index": 0, "message": "an answer ü"})
            llm.record_exception(ValueError("rate limited \"429\""))
            llm.set_status(Status(StatusCode.ERROR, "rate limited"))
        with tracer.start_as_current_span("tool", attributes={"gen_ai.operation.name": "execute_tool",
                                                              "gen_ai.tool.call.arguments": '{"q": 1}'}):
            pass
    provider.shutdown()
    return encode_spans(memory.get_finished_spans()).SerializeToString()


def test_what_sdks_send_takes_the_fast_path_and_gives_the_python_rows() -> None:
    payloads_sent = [_sdk_payload(), genai_trace_request(30).SerializeToString(),
                     genai_trace_request(5, texts=["é" * 300, "x\n\"y\"", ""]).SerializeToString()]
    for payload in payloads_sent:
        request = ExportTraceServiceRequest.FromString(payload)
        assert _taken(request), _refused_part(request)[:4000]
        assert_same_rows(payload)


def _values_of_every_kind() -> list[AnyValue]:
    """One AnyValue of each kind and edge a promoted column meets."""
    scalars: list[Any] = [
        "", "LLM", "chain", "chat", "Task", "rerank", "execute_tool", "workflow", "x" * 40,
        "tas\u212a", "ß", "12", " 7 ", "1e3", "nan", "-3", "é", '"LLM"', "{\"input\": 1}",
        0, 1, -3, INT64_MAX, -(2**63), True, False, 0.0, -0.0, 1.5, -0.5, 0.9, 1e-7, 1e16,
        2.0**63, 9.2e18, float("nan"), float("inf"), float("-inf"),
    ]
    values = [scalar(value) for value in scalars]
    values += [AnyValue(bytes_value=b""), AnyValue(bytes_value=b"\x00\xff"), AnyValue()]
    values += [array_of([]), array_of([scalar(1), scalar("a")]), array_of([array_of([scalar(2.5)])])]
    empty_map = AnyValue()
    empty_map.kvlist_value.SetInParent()
    one_map = AnyValue()
    one_map.kvlist_value.values.add(key="a", value=scalar(1))
    return values + [empty_map, one_map]


def _single_span_request(attributes: list[tuple[str, AnyValue]], span_id: bytes = b"\x02" * 8) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(
        trace_id=b"\x01" * 16, span_id=span_id, start_time_unix_nano=1, end_time_unix_nano=2)
    for key, value in attributes:
        span.attributes.add(key=key, value=value)
    return request


def test_every_pair_of_keys_read_gives_the_python_rows() -> None:
    # Which convention wins: every ordered pair of keys, random values; the pairs the native
    # path takes are compared in batches of 100 spans.
    rng = random.Random(81)
    keys = sorted(_CONVENTION_KEYS | {"otel_feedback.experiment"})
    values = _values_of_every_kind()
    batch = ExportTraceServiceRequest()
    spans = batch.resource_spans.add().scope_spans.add().spans
    compared = 0
    for index, (first, second) in enumerate((a, b) for a in keys for b in keys if a != b):
        request = _single_span_request(
            [(first, rng.choice(values)), (second, rng.choice(values))], span_id=index.to_bytes(8, "big"))
        if _otlp_rows.spans(request.SerializeToString(), set()) is None:
            continue
        spans.append(request.resource_spans[0].scope_spans[0].spans[0])
        if len(spans) == 100:
            compared += 100
            assert _taken(batch)
            assert_same_rows(batch.SerializeToString())
            del spans[:]
    assert_same_rows(batch.SerializeToString())
    assert compared > 800


def test_every_key_read_with_every_kind_of_value_gives_the_python_rows() -> None:
    # One request per key and value (a request the native path refuses is Python's on both
    # sides, so each must stand alone to be compared), on a span and on the resource.
    keys = sorted(_CONVENTION_KEYS | {"otel_feedback.experiment"})
    taken = 0
    for value in _values_of_every_kind():
        for key in keys + ["service.name", "resource:otel_feedback.experiment", "resource:service.name"]:
            request = ExportTraceServiceRequest()
            resource_spans = request.resource_spans.add()
            span = resource_spans.scope_spans.add().spans.add(
                trace_id=b"\x01" * 16, span_id=b"\x02" * 8, start_time_unix_nano=1, end_time_unix_nano=2)
            target = resource_spans.resource.attributes if key.startswith("resource:") else span.attributes
            target.add(key=key.removeprefix("resource:"), value=value)
            payload = request.SerializeToString()
            if _otlp_rows.spans(payload, set()) is not None:
                taken += 1
                assert_same_rows(payload)
    assert taken > 1000


def _many_keys(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct keys, some alike: empty, with NUL bytes, non-ASCII, prefixes of others."""
    tricky = ["", "k", "k\x00", "k\x00a", "k\x00b", "\x00", "é", "e\u0301", "\x7f", "\U0010ffff", "kk", "K"]
    keys = tricky + [f"attr.{number}" for number in range(count)]
    rng.shuffle(keys)
    return keys[:count]


def _request_with_keys(keys: list[str], where: str) -> ExportTraceServiceRequest:
    request = _single_span_request([])
    resource_spans = request.resource_spans[0]
    span = resource_spans.scope_spans[0].spans[0]
    if where == "span":
        target = span.attributes
    elif where == "resource":
        target = resource_spans.resource.attributes
    elif where == "map":
        value = span.attributes.add(key="map").value
        value.kvlist_value.SetInParent()
        target = value.kvlist_value.values
    elif where == "event":
        target = span.events.add(name="log").attributes
    else:
        target = span.links.add(trace_id=b"\x03" * 16, span_id=b"\x04" * 8).attributes
    for number, key in enumerate(keys):
        target.add(key=key, value=AnyValue(int_value=number))
    return request


@pytest.mark.parametrize("where", ["span", "resource", "map", "event", "link"])
def test_a_key_sent_twice_among_many_sends_the_request_to_python(where: str) -> None:
    # Python's dict keeps a repeated key's first position and last value; the native path
    # leaves such requests to Python, however many keys there are and wherever the repeat is.
    rng = random.Random(where)
    for count in (2, 15, 16, 17, 18, 33, 300, 2000):
        keys = _many_keys(count, rng)
        unique = _request_with_keys(keys, where)
        assert _taken(unique), f"{count} distinct keys in a {where} were refused"
        assert_same_rows(unique.SerializeToString())
        for first, second in {(0, count - 1), (count - 2, count - 1), (0, 1), (count // 2, count // 3)}:
            if first == second:
                continue
            repeated = list(keys)
            repeated[second] = repeated[first]
            request = _request_with_keys(repeated, where)
            seen = {_OTHER_KEY}
            assert _otlp_rows.spans(request.SerializeToString(), seen) is None, (count, first, second, repeated[first])
            assert seen == {_OTHER_KEY}
            assert_same_rows(request.SerializeToString())


def test_the_c_knows_every_key_normalize_reads() -> None:
    """A key added to normalize.py's conventions must be read by the C too (or sent to Python
    there): the C's key table is compared with the Python's, so a new key cannot slip past
    the extension unnoticed."""
    source = (_REPO / "collector" / "storage" / "_otlp_rows.c").read_text()
    table = source[source.index("KEY_NAMES[N_KEYS] = {") : source.index("};", source.index("KEY_NAMES[N_KEYS] = {"))]
    c_keys = set(re.findall(r'"([^"]+)"', table))
    missing = sorted((set(_CONVENTION_KEYS) | {"otel_feedback.experiment", "service.name"}) - c_keys)
    assert not missing, f"keys normalize.py reads that _otlp_rows.c does not know: {missing}"
