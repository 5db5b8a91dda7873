"""OTLP message encodings: binary protobuf and OTLP JSON, for requests, responses and errors.

OTLP JSON is the proto3 JSON mapping with one exception that matters: trace and span ids are
hex strings, not base64. Field names may be lowerCamelCase or the original snake_case, enums
may be integers, 64-bit integers may be strings or numbers, and unknown fields are ignored; the
protobuf JSON parser already does all of that, so this module only rewrites the ids. An id that
is not hex costs only the span or log record holding it: it becomes a placeholder that
validation rejects with a reason (OTLP partial success), and the rest of the request is stored.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2

from otel_feedback_collector.otlp.errors import MalformedRequest, UnsupportedMediaType
from otel_feedback_collector.otlp.validation import unreadable_id

# Every OTLP field that holds a trace or span id (spans, links, log records, exemplars), in both
# spellings the JSON mapping allows.
_ID_FIELDS = frozenset(
    {"traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"}
)


class MessageEncoding(enum.Enum):
    """How an OTLP body is encoded; the response goes back in the same encoding."""

    PROTOBUF = "application/x-protobuf"
    JSON = "application/json"

    @property
    def media_type(self) -> str:
        """The Content-Type header value for a response in this encoding."""
        return self.value


def encoding_for_content_type(content_type: str | None) -> MessageEncoding:
    """Map a Content-Type header to an encoding, or raise :class:`UnsupportedMediaType`."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in ("application/x-protobuf", "application/protobuf"):
        return MessageEncoding.PROTOBUF
    if media_type == "application/json":
        return MessageEncoding.JSON
    raise UnsupportedMediaType(
        f"Content-Type {content_type!r} is not supported; OTLP/HTTP accepts "
        "'application/x-protobuf' and 'application/json'."
    )


def decode_message(body: bytes, encoding: MessageEncoding, message: Message) -> None:
    """Parse ``body`` into ``message`` (in place), raising :class:`MalformedRequest` on bad input."""
    if encoding is MessageEncoding.PROTOBUF:
        try:
            message.ParseFromString(body)
        except (DecodeError, ValueError, RuntimeError) as exc:
            raise MalformedRequest(f"The body is not a valid protobuf {message.DESCRIPTOR.name}: {exc}.") from exc
        return
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequest(f"The body is not valid JSON: {exc}.") from exc
    except RecursionError as exc:
        raise MalformedRequest("The JSON body is nested too deeply to be an OTLP message.") from exc
    if not isinstance(document, dict):
        raise MalformedRequest(f"The JSON body must be an object holding a {message.DESCRIPTOR.name}.")
    try:
        _hex_ids_to_base64(document)
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise MalformedRequest(f"The JSON body is not a valid OTLP {message.DESCRIPTOR.name}: {exc}.") from exc
    except RecursionError as exc:
        raise MalformedRequest("The JSON body is nested too deeply to be an OTLP message.") from exc


def encode_message(message: Message, encoding: MessageEncoding) -> bytes:
    """Serialize ``message`` (a response or a google.rpc.Status) in ``encoding``."""
    if encoding is MessageEncoding.PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()


def status_message(*, code: int, message: str) -> status_pb2.Status:
    """Return the google.rpc.Status that OTLP/HTTP error responses carry."""
    return status_pb2.Status(code=code, message=message)


def _hex_ids_to_base64(node: Any) -> None:
    """Rewrite OTLP JSON hex ids in place into the base64 the proto3 JSON mapping expects."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and value is not None and not isinstance(value, (dict, list)):
                node[key] = _hex_to_base64(value)
            elif isinstance(value, (dict, list)):
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _hex_ids_to_base64(item)


def _hex_to_base64(value: Any) -> str:
    try:
        raw = binascii.unhexlify(value)
    except (binascii.Error, ValueError, TypeError):
        raw = unreadable_id(value if isinstance(value, str) else json.dumps(value))
    return base64.b64encode(raw).decode("ascii")
