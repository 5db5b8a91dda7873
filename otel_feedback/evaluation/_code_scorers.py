"""Deterministic scorers: no model, the same answer every time."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from otel_feedback_core.assessments import Assessment, Feedback, validate_name
from otel_feedback.evaluation._judge_prompts import as_text
from otel_feedback.evaluation._scorer import Scorer, ScorerInputMissing
from otel_feedback.evaluation._trace import Trace

_SPACES = re.compile(r"\s+")


def _normalized(text: str, *, case_sensitive: bool) -> str:
    collapsed = _SPACES.sub(" ", text).strip()
    return collapsed if case_sensitive else collapsed.casefold()


class ExactMatch(Scorer):
    """True when the output equals ``expected_response``.

    Strings are compared after collapsing whitespace (and case, unless ``case_sensitive``);
    other values are compared as they are.
    """

    def __init__(self, *, name: str = "exact_match", case_sensitive: bool = False) -> None:
        self.name = validate_name(name)
        self.case_sensitive = case_sensitive

    def score(self, *, inputs: Any, outputs: Any, expectations: Mapping[str, Any], trace: Trace | None) -> bool:
        """Compare the output to the expected response."""
        if "expected_response" not in expectations:
            raise ScorerInputMissing("exact_match needs an 'expected_response' expectation")
        expected = expectations["expected_response"]
        if isinstance(expected, str) and isinstance(outputs, str):
            return _normalized(outputs, case_sensitive=self.case_sensitive) == _normalized(
                expected, case_sensitive=self.case_sensitive
            )
        return bool(outputs == expected)


class ExpectedFactsCoverage(Scorer):
    """The share of ``expected_facts`` that appear in the output (0.0 to 1.0), by text containment.

    The rationale lists the facts that are missing. Matching ignores case and extra whitespace;
    it finds facts stated in the same words, not paraphrases (use ``Correctness`` for those).
    """

    def __init__(self, *, name: str = "expected_facts_coverage") -> None:
        self.name = validate_name(name)

    def score(self, *, inputs: Any, outputs: Any, expectations: Mapping[str, Any], trace: Trace | None) -> Assessment:
        """The covered share, with the missing facts as the rationale."""
        facts = expectations.get("expected_facts")
        if isinstance(facts, str):
            facts = [facts]
        if not facts or not all(isinstance(fact, str) for fact in facts):
            raise ScorerInputMissing("expected_facts_coverage needs an 'expected_facts' expectation (a list of strings)")
        if outputs is None:
            raise ScorerInputMissing("expected_facts_coverage needs the app's outputs")
        text = _normalized(as_text(outputs), case_sensitive=False)
        missing = [fact for fact in facts if _normalized(fact, case_sensitive=False) not in text]
        coverage = (len(facts) - len(missing)) / len(facts)
        rationale = "All expected facts are stated." if not missing else "Missing: " + "; ".join(missing)
        return Feedback(name=self.name, value=coverage, rationale=rationale, source=self.source)
