"""Scorers for ``otel_feedback.evaluate``.

LLM-judged (they ask an OpenAI-compatible judge model; ``model="openai:/gpt-4o-mini"`` or
``$OTEL_FEEDBACK_JUDGE_MODEL``, endpoint ``$OPENAI_BASE_URL``): ``Correctness``,
``Guidelines``, ``ExpectationsGuidelines``, ``RelevanceToQuery``, ``Safety``, and the
retrieval scorers that read the trace's RETRIEVER spans: ``RetrievalGroundedness``,
``RetrievalRelevance``, ``RetrievalSufficiency``. Deterministic: ``ExactMatch``,
``ExpectedFactsCoverage``. Your own: decorate a function with ``@scorer``.
"""

from __future__ import annotations

from otel_feedback.evaluation._code_scorers import ExactMatch, ExpectedFactsCoverage
from otel_feedback.evaluation._judged_scorers import (
    Correctness,
    ExpectationsGuidelines,
    Guidelines,
    JudgedScorer,
    RelevanceToQuery,
    RetrievalGroundedness,
    RetrievalRelevance,
    RetrievalSufficiency,
    Safety,
)
from otel_feedback.evaluation._scorer import Scorer, ScorerInputMissing, scorer

__all__ = [
    "Correctness",
    "ExactMatch",
    "ExpectationsGuidelines",
    "ExpectedFactsCoverage",
    "Guidelines",
    "JudgedScorer",
    "RelevanceToQuery",
    "RetrievalGroundedness",
    "RetrievalRelevance",
    "RetrievalSufficiency",
    "Safety",
    "Scorer",
    "ScorerInputMissing",
    "scorer",
]
