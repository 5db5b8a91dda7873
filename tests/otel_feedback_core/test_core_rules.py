"""The shared core: each rule once, and both sides really use it."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from otel_feedback_collector.api.assessment_json import assessment_to_json
from otel_feedback_collector.storage import AssessmentRecord
from otel_feedback_collector.storage.assessments import assessment_from_attributes
from otel_feedback._feedback import event_attributes
from otel_feedback_core import layout
from otel_feedback_core.assessments import (
    ASSESSMENT_JSON_FIELDS,
    AssessmentSource,
    Feedback,
    assessment_from_json,
    score_label,
)
from otel_feedback_core.files import publish_file, write_bytes_atomically
from otel_feedback_core.ids import is_span_id, is_trace_id, validate_trace_id
from otel_feedback_core.retry_after import parse_retry_after

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.mark.parametrize(
    ("header", "limit", "expected"),
    [(None, None, None), ("", None, None), ("2.5", None, 2.5), ("-3", None, 0.0), ("120", 60.0, 60.0),
     ("Wed, 21 Oct 2015 07:28:00 GMT", None, None), ("nan", None, None)],
)
def test_retry_after(header: str | None, limit: float | None, expected: float | None) -> None:
    assert parse_retry_after(header, limit=limit) == expected


def test_ids_are_exact_lowercase_hex() -> None:
    assert is_trace_id(TRACE_ID) and not is_trace_id(TRACE_ID.upper()) and not is_trace_id(TRACE_ID + "\n")
    assert is_span_id("b7ad6b7169203331") and not is_span_id("b7ad6b716920333")
    assert validate_trace_id(" " + TRACE_ID.upper() + " ") == TRACE_ID
    with pytest.raises(ValueError, match="32 hex characters"):
        validate_trace_id("0" * 32)


def test_atomic_write_leaves_no_temporary_and_link_mode_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    write_bytes_atomically(target, b"one")
    write_bytes_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    temporary = tmp_path / ".other.tmp"
    temporary.write_bytes(b"three")
    with pytest.raises(FileExistsError):
        publish_file(temporary, target, replace=False)
    assert target.read_bytes() == b"two"
    temporary.unlink()
    assert sorted(os.listdir(tmp_path)) == ["file.bin"]


def test_default_data_dir_follows_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(layout.DATA_DIR_ENV, raising=False)
    assert layout.default_data_dir() == "./otel-feedback-data"
    monkeypatch.setenv(layout.DATA_DIR_ENV, "/srv/data")
    assert layout.default_data_dir() == "/srv/data"


@pytest.mark.parametrize("value", [True, False, 0.75, "Accurate", {"facts": ["a"]}, None])
def test_an_assessment_survives_the_wire_and_the_json_shape(value: object) -> None:
    """SDK event attributes -> collector record -> REST JSON -> SDK Assessment: the same value."""
    sent = Feedback(name="user_feedback", value=value, rationale="why", trace_id=TRACE_ID,
                    source=AssessmentSource(source_type="HUMAN", source_id="enduser_123"),
                    error="judge failed" if value is None else None)
    record = assessment_from_attributes(event_attributes(sent), trace_id=TRACE_ID, span_id=None, time_unix_nano=1)
    assert isinstance(record, AssessmentRecord)
    body = assessment_to_json(record)
    assert tuple(body) == ASSESSMENT_JSON_FIELDS
    received = assessment_from_json(body)
    assert (received.name, received.value, received.rationale, received.assessment_id) == (
        "user_feedback", value, "why", sent.assessment_id)
    assert received.source == sent.source and received.create_time.tzinfo is not None
    assert record.type == sent.type and score_label(value) == (
        {True: "true", False: "false"}.get(value) if isinstance(value, bool) else value if isinstance(value, str) else None
    )
    assert isinstance(received.create_time, dt.datetime)
