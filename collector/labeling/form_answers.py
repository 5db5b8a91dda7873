"""Reading the review form: an URL-encoded body (no multipart needed) into answers per schema.

Field names: ``answer:<schema>`` (repeated for check boxes and lists of texts),
``comment:<schema>``, plus ``csrf_token`` and ``action`` (``submit`` or ``skip``). A control
left empty means "not answered"; what was filled in is validated by the schema later.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.api.json_body import read_body
from otel_feedback_collector.otlp.errors import PayloadTooLarge
from otel_feedback.label_schemas import InputCategoricalList, InputNumeric, InputText, InputTextList, LabelSchema

MAX_FORM_BYTES = 1024 * 1024
ANSWER_PREFIX = "answer:"
COMMENT_PREFIX = "comment:"


@dataclass(frozen=True)
class ReviewForm:
    """One posted review form."""

    action: str
    csrf_token: str | None
    fields: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str:
        """The first value of a field ('' when absent)."""
        values = self.fields.get(name) or [""]
        return values[0]


async def read_form(request: Request) -> ReviewForm:
    """Parse the body of a form POST (413 past 1 MiB, 408 when it stalls, 415 unless URL-encoded)."""
    try:
        raw = await read_body(request, limit=MAX_FORM_BYTES)
    except PayloadTooLarge:
        raise ApiError(413, "The form is larger than 1 MiB; shorten the answers.") from None
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise ApiError(415, "Send the review form as application/x-www-form-urlencoded.")
    try:
        fields = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ApiError(400, "The form is not UTF-8.") from None
    action = (fields.get("action") or ["submit"])[0]
    token = (fields.get("csrf_token") or [None])[0]
    return ReviewForm(action=action, csrf_token=token, fields=fields)


def answers_from_form(form: ReviewForm, schemas: Sequence[LabelSchema]) -> tuple[dict[str, Any], dict[str, str | None]]:
    """``(answers, comments)`` by schema name; unanswered schemas are left out."""
    answers: dict[str, Any] = {}
    comments: dict[str, str | None] = {}
    for schema in schemas:
        values = form.fields.get(ANSWER_PREFIX + schema.name, [])
        comments[schema.name] = form.first(COMMENT_PREFIX + schema.name).strip() or None
        control = schema.input
        if isinstance(control, (InputCategoricalList, InputTextList)):
            chosen = [value for value in values if value.strip()]
            if chosen:
                answers[schema.name] = chosen
        elif isinstance(control, InputNumeric):
            text = values[0].strip() if values else ""
            if text:
                answers[schema.name] = _number(schema, text)
        elif isinstance(control, InputText):
            text = values[0] if values else ""
            if text.strip():
                answers[schema.name] = text.replace("\r\n", "\n")
        elif values and values[0]:
            answers[schema.name] = values[0]
    return answers, comments


def _number(schema: LabelSchema, text: str) -> float | int:
    try:
        number = float(text)
    except ValueError:
        raise ApiError(422, f"{schema.title} ({schema.name}): {text!r} is not a number. Nothing was stored.") from None
    if not math.isfinite(number):
        raise ApiError(422, f"{schema.title} ({schema.name}): give a finite number. Nothing was stored.")
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
