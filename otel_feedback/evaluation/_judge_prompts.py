"""The prompt contract between our LLM-judged scorers and the judge model.

Every judge request is one chat completion with two messages:

* **system**: the judge's instructions for one criterion (``criterion`` names it, e.g.
  ``correctness``), ending with the answer format: *only* a JSON object
  ``{"result": "yes" | "no", "rationale": "<why>"}``;
* **user**: the material as tagged sections, one per line group, in a fixed order:
  ``<criterion>``, ``<request>``, ``<response>``, ``<expected_response>``,
  ``<expected_facts>``, ``<guidelines>``, ``<context>`` (only those the criterion uses).

``parse_judge_prompt`` turns the user message back into ``{"criterion": ..., "request": ...}``,
so a stand-in judge (``LocalOpenAIServer(responder=...)``) can give rule-based verdicts. The
answer may be wrapped in a Markdown code fence or surrounded by text; the first JSON object in
it is read. ``result`` may also be ``true``/``false``, ``pass``/``fail``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SECTION_ORDER = ("criterion", "request", "response", "expected_response", "expected_facts", "guidelines", "context")
ANSWER_FORMAT = (
    'Answer with only a JSON object, no other text: {"result": "yes" or "no", '
    '"rationale": "one or two sentences explaining the verdict"}.'
)
_SECTION = re.compile(r"<(?P<tag>[a-z_]+)>\n?(?P<body>.*?)\n?</(?P=tag)>", re.DOTALL)
_YES = frozenset({"yes", "true", "pass", "y"})
_NO = frozenset({"no", "false", "fail", "n"})


class MalformedVerdict(ValueError):
    """The judge's answer is not a JSON verdict of the agreed shape."""


@dataclass(frozen=True)
class Verdict:
    """A judge's answer: ``result`` is ``"yes"`` or ``"no"``."""

    result: str
    rationale: str | None


def as_text(value: Any) -> str:
    """A value as the judge reads it: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def judge_messages(*, criterion: str, instructions: str, sections: Mapping[str, Any]) -> list[dict[str, str]]:
    """The system and user messages for one judgement (see the module docstring)."""
    unknown = set(sections) - set(SECTION_ORDER)
    if unknown:
        raise ValueError(f"unknown judge prompt sections {sorted(unknown)}; use {SECTION_ORDER}")
    parts = [f"<criterion>{criterion}</criterion>"]
    for tag in SECTION_ORDER[1:]:
        if tag in sections and sections[tag] is not None:
            parts.append(f"<{tag}>\n{as_text(sections[tag])}\n</{tag}>")
    system = f"You are an impartial judge evaluating a GenAI application. {instructions}\n\n{ANSWER_FORMAT}"
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(parts)}]


def parse_judge_prompt(user_message: str) -> dict[str, str]:
    """The sections of a judge's user message, by tag (for stand-in judges in tests)."""
    return {match.group("tag"): match.group("body") for match in _SECTION.finditer(user_message)}


def parse_verdict(text: str) -> Verdict:
    """Read the judge's JSON verdict; raise ``MalformedVerdict`` saying what is wrong."""
    candidate = _first_json_object(text)
    if candidate is None:
        raise MalformedVerdict(f"the judge did not answer with a JSON object: {text[:200]!r}")
    raw = candidate.get("result")
    if isinstance(raw, bool):
        result = "yes" if raw else "no"
    elif isinstance(raw, str) and raw.strip().lower() in _YES | _NO:
        result = "yes" if raw.strip().lower() in _YES else "no"
    else:
        raise MalformedVerdict(f'the judge\'s "result" must be "yes" or "no"; got {raw!r}')
    rationale = candidate.get("rationale")
    return Verdict(result=result, rationale=None if rationale is None else str(rationale))


def _first_json_object(text: str) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    decoder = json.JSONDecoder()
    start = stripped.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(stripped, start)
        except ValueError:
            start = stripped.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = stripped.find("{", start + 1)
    return None
