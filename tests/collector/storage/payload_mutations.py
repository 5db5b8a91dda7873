"""Deterministic mutations of serialized OTLP trace requests, for the tests of code that parses
the protobuf bytes itself (the native span rows): bit flips, truncations, inserted and repeated
bytes, length prefixes made huge, fields repeated, dropped or reordered, wrong wire types,
unknown fields and groups, over-long varints, invalid UTF-8, deep nesting.

The structural mutations work on a small wire tree (``parse``): a message is a list of
``[field_number, wire_type, value]``, where ``value`` is an int (varint and fixed fields), bytes
(a length-delimited field that is not a known message) or a list (a known message's fields).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

# Which length-delimited fields of each OTLP message are messages themselves (and of which type).
_MESSAGES: dict[str, dict[int, str]] = {
    "request": {1: "resource_spans"},
    "resource_spans": {1: "resource", 2: "scope_spans"},
    "resource": {1: "key_value"},
    "scope_spans": {1: "scope", 2: "span"},
    "scope": {3: "key_value"},
    "span": {9: "key_value", 11: "event", 13: "link", 15: "status"},
    "event": {3: "key_value"},
    "link": {4: "key_value"},
    "status": {},
    "key_value": {2: "any_value"},
    "any_value": {5: "array", 6: "kvlist"},
    "array": {1: "any_value"},
    "kvlist": {1: "key_value"},
}
# The string fields (checked UTF-8) of each message.
_STRINGS: dict[str, set[int]] = {
    "resource_spans": {3}, "scope_spans": {3}, "scope": {1, 2}, "span": {3, 5}, "event": {2},
    "link": {3}, "status": {2}, "key_value": {1}, "any_value": {1},
}
VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
RAW = 7  # not a wire type: a field of the tree written out byte for byte

Field = list[Any]  # [number, wire_type, value]


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("bad varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def encode_varint(value: int, *, padding: int = 0) -> bytes:
    """``value`` (taken as unsigned 64-bit) as a varint, with ``padding`` extra continuation bytes."""
    value &= 2**64 - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value or padding:
            out.append(byte | 0x80)
            if not value:
                padding -= 1
                while padding > 0:
                    out.append(0x80)
                    padding -= 1
                out.append(0)
                return bytes(out)
        else:
            out.append(byte)
            return bytes(out)


def parse(data: bytes, message: str = "request") -> list[Field]:
    """The wire tree of ``data`` read as ``message``; raises WireError when it is not one."""
    fields: list[Field] = []
    pos = 0
    children = _MESSAGES.get(message, {})
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise WireError("field 0")
        if wire_type == VARINT:
            value, pos = _varint(data, pos)
        elif wire_type == FIXED64:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire_type == FIXED32:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        elif wire_type == LEN:
            size, pos = _varint(data, pos)
            raw = data[pos : pos + size]
            pos += size
            value = parse(raw, children[number]) if number in children else raw
        else:
            raise WireError("groups are not parsed here")
        if pos > len(data):
            raise WireError("truncated")
        fields.append([number, wire_type, value])
    return fields


def encode(fields: list[Field]) -> bytes:
    """The bytes of a wire tree; a field ``[0, RAW, data]`` is written as ``data`` (tag included)."""
    out = bytearray()
    for number, wire_type, value in fields:
        if wire_type == RAW:
            out += value
            continue
        out += encode_varint(number << 3 | wire_type)
        if wire_type == VARINT:
            out += encode_varint(value)
        elif wire_type == FIXED64:
            out += (value & (2**64 - 1)).to_bytes(8, "little")
        elif wire_type == FIXED32:
            out += (value & (2**32 - 1)).to_bytes(4, "little")
        else:
            raw = encode(value) if isinstance(value, list) else bytes(value)
            out += encode_varint(len(raw)) + raw
    return bytes(out)


def _messages(fields: list[Field], message: str = "request") -> Iterator[tuple[list[Field], str]]:
    """Every message of the tree (depth first) with its type."""
    yield fields, message
    for number, _, value in fields:
        if isinstance(value, list):
            yield from _messages(value, _MESSAGES[message][number])


def _raw_field(data: bytes) -> Field:
    return [0, RAW, data]


def _edit(tree: list[Field], rng: random.Random, change: Callable[[list[Field], str, random.Random], None]) -> bytes:
    """The payload after ``change`` edited one random message of the tree (the tree is left as it was)."""
    messages = list(_messages(tree))
    target, kind = rng.choice(messages)
    saved = [list(field) for field in target]
    change(target, kind, rng)
    try:
        return encode(tree)
    finally:
        target[:] = saved


def _pick(fields: list[Field], rng: random.Random) -> int | None:
    return rng.randrange(len(fields)) if fields else None


# --- Structural changes (each edits one message in place) ------------------------------------

def _repeat_field(fields: list[Field], kind: str, rng: random.Random) -> None:
    index = _pick(fields, rng)
    if index is not None:
        fields.insert(rng.randint(index, len(fields)), list(fields[index]))


def _drop_field(fields: list[Field], kind: str, rng: random.Random) -> None:
    index = _pick(fields, rng)
    if index is not None:
        del fields[index]


def _swap_fields(fields: list[Field], kind: str, rng: random.Random) -> None:
    rng.shuffle(fields)


def _wrong_wire_type(fields: list[Field], kind: str, rng: random.Random) -> None:
    index = _pick(fields, rng)
    if index is None:
        return
    number, wire_type, value = fields[index]
    new_type = rng.choice([t for t in (VARINT, FIXED64, LEN, FIXED32) if t != wire_type])
    if new_type == LEN:
        new_value: Any = rng.choice([b"", b"\x08\x01", encode_varint(value if isinstance(value, int) else 3)])
    elif isinstance(value, int):
        new_value = value
    else:
        new_value = rng.choice([0, 1, len(value) if isinstance(value, bytes) else 2, 2**63])
    fields[index] = [number, new_type, new_value]


def _unknown_field(fields: list[Field], kind: str, rng: random.Random) -> None:
    number = rng.choice([17, 18, 99, 1000, 2**29 - 1, 20, 7, 8, 12])
    choice = rng.randrange(6)
    if choice == 0:
        field: Field = [number, VARINT, rng.choice([0, 1, 2**64 - 1])]
    elif choice == 1:
        field = [number, FIXED64, rng.getrandbits(64)]
    elif choice == 2:
        field = [number, FIXED32, rng.getrandbits(32)]
    elif choice == 3:
        field = [number, LEN, rng.choice([b"", b"\xff\xfe", b"\x08\x01"])]
    elif choice == 4:  # a group holding a varint, closed properly
        field = _raw_field(encode_varint(number << 3 | START_GROUP) + b"\x08\x01"
                           + encode_varint(number << 3 | END_GROUP))
    else:  # a group not closed, or closed by the wrong number, or an end without a start
        field = _raw_field(rng.choice([
            encode_varint(number << 3 | START_GROUP) + b"\x08\x01",
            encode_varint(number << 3 | START_GROUP) + encode_varint((number + 1) << 3 | END_GROUP),
            encode_varint(number << 3 | END_GROUP),
        ]))
    fields.insert(rng.randint(0, len(fields)), field)


def _bad_tag(fields: list[Field], kind: str, rng: random.Random) -> None:
    fields.insert(rng.randint(0, len(fields)), _raw_field(rng.choice([
        b"\x00\x01",  # field 0
        b"\x0e\x01",  # wire type 6
        b"\x0f",  # wire type 7
        encode_varint(2**29 << 3),  # field number too large
        encode_varint(2**35),  # a tag beyond 32 bits
        b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # an 11-byte varint
    ])))


def _padded_varint(fields: list[Field], kind: str, rng: random.Random) -> None:
    # A varint (a tag, a value or a length) written with more bytes than it needs: valid protobuf.
    index = _pick(fields, rng)
    if index is None:
        return
    number, wire_type, value = fields[index]
    # Protobuf (upb) takes tags and lengths of up to 5 bytes and values of up to 10.
    padding = rng.choice([1, 2, 4, 4, 5, 9])
    where = rng.randrange(3)
    tag = encode_varint(number << 3 | wire_type, padding=padding if where == 0 else 0)
    if wire_type == VARINT:
        body = encode_varint(value, padding=padding if where else 0)
    elif wire_type == LEN:
        raw = encode(value) if isinstance(value, list) else value
        body = encode_varint(len(raw), padding=padding if where else 0) + raw
    else:
        body = encode([[number, wire_type, value]])[len(encode_varint(number << 3 | wire_type)):]
    if len(tag) + len(body) < 200:
        fields[index] = _raw_field(tag + body)


def _huge_length(fields: list[Field], kind: str, rng: random.Random) -> None:
    candidates = [i for i, field in enumerate(fields) if field[1] == LEN]
    if not candidates:
        return
    index = rng.choice(candidates)
    number, _, value = fields[index]
    raw = encode(value) if isinstance(value, list) else value
    size = rng.choice([len(raw) + 1, len(raw) + 1000, max(0, len(raw) - 1), 2**31 - 1, 2**31,
                       2**32 + len(raw), 2**63, 2**64 - 1])
    fields[index] = _raw_field(encode_varint(number << 3 | LEN) + encode_varint(size) + raw)


def _odd_varint_value(fields: list[Field], kind: str, rng: random.Random) -> None:
    candidates = [i for i, field in enumerate(fields) if field[1] in (VARINT, FIXED64, FIXED32)]
    if not candidates:
        return
    index = rng.choice(candidates)
    number, wire_type, _ = fields[index]
    value = rng.choice([2**32 + 1, 2**31, 2**64 - 1, 2**63, 2**32 - 7, 2, 255, 6, 7, 2**64 - 7])
    fields[index] = [number, wire_type, value]


def _bad_utf8(fields: list[Field], kind: str, rng: random.Random) -> None:
    candidates = [i for i, (n, t, v) in enumerate(fields)
                  if t == LEN and n in _STRINGS.get(kind, ()) and isinstance(v, bytes)]
    if not candidates:
        return
    index = rng.choice(candidates)
    value = fields[index][2]
    bad = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80",
                      b"\xe2\x82", b"\x80", b"\xf0\x9f\x98"])
    cut = rng.randint(0, len(value))
    fields[index] = [fields[index][0], LEN, value[:cut] + bad + value[cut:]]


def _oneof_twice(fields: list[Field], kind: str, rng: random.Random) -> None:
    if kind != "any_value":
        return
    # Field 8 is string_value_strindex: a member of the oneof in opentelemetry-proto >= 1.7.
    fields.append(rng.choice([[1, LEN, b"again"], [3, VARINT, 5], [2, VARINT, 1],
                              [4, FIXED64, 0x3FF0000000000000], [5, LEN, []], [7, LEN, b"\x01"],
                              [6, LEN, []], [8, VARINT, 5], [8, VARINT, 0]]))


_NESTED: dict[tuple[str, int], bytes] = {}
# The fields around an AnyValue that make one level of nesting, from the inside out (each a
# prefix written before the field's tag, and the tag): an array holding it, or a map holding it
# under the key "k".
_LEVELS = {
    "array": [(b"", 1 << 3 | LEN), (b"", 5 << 3 | LEN)],  # ArrayValue.values, AnyValue.array_value
    "map": [(b"\x0a\x01k", 2 << 3 | LEN), (b"", 1 << 3 | LEN), (b"", 6 << 3 | LEN)],  # KeyValue, KeyValueList, AnyValue
}


def _nested(kind: str, depth: int) -> bytes:
    """An int AnyValue inside ``depth`` levels of ``kind``, built once per depth: the headers
    from the inside out, joined once (copying the inner bytes per level would be quadratic)."""
    if (kind, depth) not in _NESTED:
        bottom = encode([[3, VARINT, 1]])
        size = len(bottom)
        levels = []
        for _ in range(depth):
            level = b""
            for prefix, tag in _LEVELS[kind]:
                header = prefix + encode_varint(tag) + encode_varint(size)
                size += len(header)
                level = header + level
            levels.append(level)
        _NESTED[kind, depth] = b"".join(reversed(levels)) + bottom
    return _NESTED[kind, depth]


def deeply_nested_array(depth: int) -> bytes:
    """An AnyValue ``depth`` arrays deep (``[[[... 1]]]``)."""
    return _nested("array", depth)


def deeply_nested_map(depth: int) -> bytes:
    """An AnyValue ``depth`` maps deep (``{"k": {"k": ... 1}}``)."""
    return _nested("map", depth)


def _deep_nesting(fields: list[Field], kind: str, rng: random.Random) -> None:
    # Python's protobuf refuses more than 100 levels of messages; a parser must not recurse
    # without bound either (or it overflows its stack).
    if rng.random() < 0.3:
        value = deeply_nested_map(rng.choice([20, 30, 31, 32, 33, 64, 65, 66, 1000]))
    else:
        value = deeply_nested_array(rng.choice([40, 45, 46, 47, 48, 49, 64, 65, 66, 90, 99, 100, 200, 5000, 100_000]))
    key_value = [[1, LEN, b"deep"], [2, LEN, value]]
    if kind == "span":
        fields.append([9, LEN, key_value])
    elif kind == "resource":
        fields.append([1, LEN, key_value])


_STRUCTURAL = [
    _repeat_field, _repeat_field, _drop_field, _swap_fields, _wrong_wire_type, _wrong_wire_type,
    _unknown_field, _unknown_field, _bad_tag, _padded_varint, _padded_varint, _huge_length,
    _huge_length, _odd_varint_value, _odd_varint_value, _bad_utf8, _bad_utf8, _oneof_twice,
    _deep_nesting,
]


# --- Byte-level changes ----------------------------------------------------------------------

def _bit_flip(payload: bytes, rng: random.Random) -> bytes:
    if not payload:
        return payload
    data = bytearray(payload)
    for _ in range(rng.choice([1, 1, 2, 8])):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _truncate(payload: bytes, rng: random.Random) -> bytes:
    return payload[: rng.randrange(len(payload) + 1)]


def _insert_bytes(payload: bytes, rng: random.Random) -> bytes:
    at = rng.randint(0, len(payload))
    return payload[:at] + rng.randbytes(rng.choice([1, 1, 2, 5])) + payload[at:]


def _duplicate_bytes(payload: bytes, rng: random.Random) -> bytes:
    if not payload:
        return payload
    start = rng.randrange(len(payload))
    end = min(len(payload), start + rng.randint(1, 40))
    return payload[:end] + payload[start:end] + payload[end:]


def _overwrite_bytes(payload: bytes, rng: random.Random) -> bytes:
    if not payload:
        return payload
    at = rng.randrange(len(payload))
    return payload[:at] + rng.choice([b"\xff" * 10, b"\x80" * 11, b"\x00", b"\x7f"]) + payload[at + 1 :]


_BYTE_LEVEL = [_bit_flip, _bit_flip, _truncate, _insert_bytes, _duplicate_bytes, _overwrite_bytes]


def mutations(payload: bytes, rng: random.Random, count: int) -> Iterator[bytes]:
    """``count`` mutations of a valid payload: byte-level ones, structural ones on its wire tree,
    every 97th byte truncation, and the empty payload."""
    tree = parse(payload)
    yield b""
    for cut in range(1, len(payload), 97):
        yield payload[:cut]
    for _ in range(count):
        if rng.random() < 0.35:
            yield rng.choice(_BYTE_LEVEL)(payload, rng)
        else:
            mutated = _edit(tree, rng, rng.choice(_STRUCTURAL))
            if rng.random() < 0.15:  # now and then two changes at once
                mutated = rng.choice(_BYTE_LEVEL)(mutated, rng)
            yield mutated
