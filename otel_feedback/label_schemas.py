"""Label schemas: what an expert is asked about a trace, and which answers are valid.

A schema names one question (``title``), its kind of answer (``type``: ``"feedback"`` — a
judgement — or ``"expectation"`` — the ground truth) and its control (``input``)::

    from otel_feedback.label_schemas import create_label_schema, InputCategorical, InputText

    accuracy = create_label_schema(
        name="response_accuracy", type="feedback", title="Is the response factually accurate?",
        input=InputCategorical(options=["Accurate", "Partially Accurate", "Inaccurate"]),
        overwrite=True,
    )

Schemas live in the collector's catalog (``configure(endpoint)`` first). The collector checks
every reviewer's answer with the same ``validate`` methods defined here, so the SDK and the
review app accept exactly the same values. Built-in schemas: ``expected_response``,
``expected_facts`` and ``guidelines``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from otel_feedback import _client

EXPECTED_RESPONSE = "expected_response"
EXPECTED_FACTS = "expected_facts"
GUIDELINES = "guidelines"
SCHEMA_TYPES = ("feedback", "expectation")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
MAX_OPTIONS = 100
MAX_OPTION_LENGTH = 200
MAX_TEXT_LENGTH = 100_000

SchemaType = Literal["feedback", "expectation"]


def _checked_options(options: Any) -> tuple[str, ...]:
    if isinstance(options, str) or not isinstance(options, Sequence):
        raise ValueError("options must be a list of strings, e.g. ['Accurate', 'Inaccurate']")
    cleaned = tuple(options)
    if not 1 <= len(cleaned) <= MAX_OPTIONS:
        raise ValueError(f"options must hold between 1 and {MAX_OPTIONS} choices; got {len(cleaned)}")
    for option in cleaned:
        if not isinstance(option, str) or not option.strip() or len(option) > MAX_OPTION_LENGTH:
            raise ValueError(f"each option must be a non-empty string of at most {MAX_OPTION_LENGTH} characters; got {option!r}")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError(f"options must not repeat; got {list(cleaned)}")
    return cleaned


def _optional_positive_int(what: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer or None; got {value!r}")
    return value


def _checked_text(what: str, value: Any, max_length: int | None) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text; got {type(value).__name__}")
    limit = max_length or MAX_TEXT_LENGTH
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters long; at most {limit} are allowed")
    return value


@dataclass(frozen=True)
class InputCategorical:
    """Pick exactly one of ``options`` (a radio group)."""

    options: Sequence[str]
    kind: str = field(default="categorical", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", list(_checked_options(self.options)))

    def validate(self, value: Any) -> str:
        """Return ``value`` if it is one of the options; else raise ValueError."""
        if not isinstance(value, str) or value not in self.options:
            raise ValueError(f"{value!r} is not one of the options {list(self.options)}; pick one of them")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``{"type": "categorical", "options": [...]}``)."""
        return {"type": self.kind, "options": list(self.options)}


@dataclass(frozen=True)
class InputCategoricalList:
    """Pick any number of ``options`` (check boxes); the answer is a list."""

    options: Sequence[str]
    kind: str = field(default="categorical_list", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", list(_checked_options(self.options)))

    def validate(self, value: Any) -> list[str]:
        """Return ``value`` (in option order, without repeats) if every entry is an option."""
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ValueError(f"the answer must be a list of options from {list(self.options)}")
        unknown = [item for item in value if item not in self.options]
        if unknown:
            raise ValueError(f"{unknown!r} are not among the options {list(self.options)}; pick from them")
        return [option for option in self.options if option in value]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``{"type": "categorical_list", "options": [...]}``)."""
        return {"type": self.kind, "options": list(self.options)}


@dataclass(frozen=True)
class InputText:
    """Free text (a text area), at most ``max_length`` characters when given."""

    max_length: int | None = None
    kind: str = field(default="text", init=False)

    def __post_init__(self) -> None:
        _optional_positive_int("max_length", self.max_length)

    def validate(self, value: Any) -> str:
        """Return ``value`` if it is text within ``max_length``; empty text is refused."""
        text = _checked_text("the text", value, self.max_length)
        if not text.strip():
            raise ValueError("the text is empty; write an answer or skip this item")
        return text

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``{"type": "text", "max_length": ...}``)."""
        return {"type": self.kind, "max_length": self.max_length}


@dataclass(frozen=True)
class InputTextList:
    """Several texts (e.g. facts), each at most ``max_length_each``, at most ``max_count``."""

    max_length_each: int | None = None
    max_count: int | None = None
    kind: str = field(default="text_list", init=False)

    def __post_init__(self) -> None:
        _optional_positive_int("max_length_each", self.max_length_each)
        _optional_positive_int("max_count", self.max_count)

    def validate(self, value: Any) -> list[str]:
        """Return the non-empty texts of ``value`` if they fit the limits; else ValueError."""
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ValueError("the answer must be a list of texts")
        texts = [_checked_text("each text", item, self.max_length_each) for item in value]
        texts = [text for text in texts if text.strip()]
        if not texts:
            raise ValueError("the list is empty; write at least one entry or skip this item")
        if self.max_count is not None and len(texts) > self.max_count:
            raise ValueError(f"{len(texts)} entries given; at most {self.max_count} are allowed")
        return texts

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``{"type": "text_list", "max_length_each": ..., "max_count": ...}``)."""
        return {"type": self.kind, "max_length_each": self.max_length_each, "max_count": self.max_count}


@dataclass(frozen=True)
class InputNumeric:
    """A number between ``min_value`` and ``max_value`` (inclusive, each optional)."""

    min_value: float | None = None
    max_value: float | None = None
    kind: str = field(default="numeric", init=False)

    def __post_init__(self) -> None:
        for what, bound in (("min_value", self.min_value), ("max_value", self.max_value)):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound)):
                raise ValueError(f"{what} must be a finite number or None; got {bound!r}")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError(f"min_value ({self.min_value}) must not be greater than max_value ({self.max_value})")

    def validate(self, value: Any) -> float | int:
        """Return ``value`` if it is a finite number within the bounds; else ValueError."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"the answer must be a number; got {value!r}")
        if self.min_value is not None and value < self.min_value:
            raise ValueError(f"{value} is below the minimum {self.min_value}")
        if self.max_value is not None and value > self.max_value:
            raise ValueError(f"{value} is above the maximum {self.max_value}")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``{"type": "numeric", "min_value": ..., "max_value": ...}``)."""
        return {"type": self.kind, "min_value": self.min_value, "max_value": self.max_value}


SchemaInput = Union[InputCategorical, InputCategoricalList, InputText, InputTextList, InputNumeric]
_INPUT_CLASSES: dict[str, Any] = {
    "categorical": InputCategorical,
    "categorical_list": InputCategoricalList,
    "text": InputText,
    "text_list": InputTextList,
    "numeric": InputNumeric,
}


def input_from_dict(data: Mapping[str, Any]) -> SchemaInput:
    """The input object for its JSON form; ValueError names what is wrong."""
    if not isinstance(data, Mapping):
        raise ValueError('input must be an object like {"type": "categorical", "options": [...]}')
    kind = data.get("type")
    cls = _INPUT_CLASSES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"input type {kind!r} is not known; use one of {sorted(_INPUT_CLASSES)}")
    options = {key: value for key, value in data.items() if key != "type"}
    try:
        return cls(**options)  # type: ignore[no-any-return]
    except TypeError:
        raise ValueError(f"input of type {kind!r} got unknown fields {sorted(options)}") from None


@dataclass(frozen=True)
class LabelSchema:
    """One question for reviewers: its ``name`` (the assessment name), ``type``, ``title``,
    ``input`` control, optional ``instruction`` and whether a comment may be added."""

    name: str
    type: SchemaType
    title: str
    input: SchemaInput
    instruction: str | None = None
    enable_comment: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                f"name must be 1-128 letters, digits, '_', '.' or '-' (it becomes the assessment name); got {self.name!r}"
            )
        if self.type not in SCHEMA_TYPES:
            raise ValueError(f"type must be 'feedback' or 'expectation'; got {self.type!r}")
        if not isinstance(self.title, str) or not self.title.strip():
            raise ValueError("title must be a non-empty string (the question reviewers see)")
        if not isinstance(self.input, tuple(_INPUT_CLASSES.values())):
            raise ValueError("input must be InputCategorical, InputCategoricalList, InputText, InputTextList or InputNumeric")
        if self.instruction is not None and not isinstance(self.instruction, str):
            raise ValueError("instruction must be a string or None")
        if not isinstance(self.enable_comment, bool):
            raise ValueError("enable_comment must be True or False")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the REST API speaks."""
        return {
            "name": self.name,
            "type": self.type,
            "title": self.title,
            "input": self.input.to_dict(),
            "instruction": self.instruction,
            "enable_comment": self.enable_comment,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelSchema:
        """A schema from its JSON form; ValueError names the first problem."""
        if not isinstance(data, Mapping):
            raise ValueError("a label schema must be a JSON object")
        unknown = sorted(set(data) - {"name", "type", "title", "input", "instruction", "enable_comment"})
        if unknown:
            raise ValueError(f"unknown label schema field(s) {unknown}")
        return cls(
            name=data.get("name"),  # type: ignore[arg-type]
            type=data.get("type", "feedback"),
            title=data.get("title"),  # type: ignore[arg-type]
            input=input_from_dict(data.get("input")),  # type: ignore[arg-type]
            instruction=data.get("instruction"),
            enable_comment=data.get("enable_comment", False),
        )


BUILT_IN_SCHEMAS: tuple[LabelSchema, ...] = (
    LabelSchema(
        name=EXPECTED_RESPONSE,
        type="expectation",
        title="What would be the ideal response?",
        input=InputText(),
        instruction="Write the answer the app should have given.",
    ),
    LabelSchema(
        name=EXPECTED_FACTS,
        type="expectation",
        title="Which facts must the response contain?",
        input=InputTextList(),
        instruction="One fact per entry.",
    ),
    LabelSchema(
        name=GUIDELINES,
        type="expectation",
        title="Which guidelines should the response follow?",
        input=InputTextList(),
        instruction="One guideline per entry, e.g. 'Answer in the user's language'.",
    ),
)


def create_label_schema(
    name: str,
    *,
    type: SchemaType = "feedback",  # noqa: A002 - the name users know from the tutorial
    title: str,
    input: SchemaInput,  # noqa: A002
    instruction: str | None = None,
    enable_comment: bool = False,
    overwrite: bool = False,
) -> LabelSchema:
    """Create (or with ``overwrite=True`` replace) a label schema in the collector's catalog.

    An existing name without ``overwrite`` raises ``InvalidRequest`` (a ``ValueError``).
    """
    schema = LabelSchema(
        name=name, type=type, title=title, input=input, instruction=instruction, enable_comment=enable_comment
    )
    answer = _client.request_json("POST", "/label-schemas", body={**schema.to_dict(), "overwrite": overwrite})
    return LabelSchema.from_dict(answer)


def get_label_schema(name: str) -> LabelSchema:
    """The schema called ``name``; ``NotFound`` (a ``LookupError``) if there is none."""
    return LabelSchema.from_dict(_client.request_json("GET", f"/label-schemas/{_client.quote_segment(name)}"))


def list_label_schemas() -> list[LabelSchema]:
    """Every schema in the catalog (built-ins included), by name."""
    answer = _client.request_json("GET", "/label-schemas")
    return [LabelSchema.from_dict(item) for item in answer["label_schemas"]]


def delete_label_schema(name: str) -> None:
    """Delete the schema called ``name`` (sessions that use it refuse: delete them first)."""
    _client.request_json("DELETE", f"/label-schemas/{_client.quote_segment(name)}")


__all__ = [
    "BUILT_IN_SCHEMAS",
    "EXPECTED_FACTS",
    "EXPECTED_RESPONSE",
    "GUIDELINES",
    "InputCategorical",
    "InputCategoricalList",
    "InputNumeric",
    "InputText",
    "InputTextList",
    "LabelSchema",
    "SchemaInput",
    "create_label_schema",
    "delete_label_schema",
    "get_label_schema",
    "input_from_dict",
    "list_label_schemas",
]
