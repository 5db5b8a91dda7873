"""Inter-rater agreement for one label schema: percent agreement, Cohen's kappa (two raters)
and Krippendorff's alpha (nominal, any number of raters, missing answers allowed).

Input: ``{item: {reviewer: value}}``. Values are compared as nominal categories (lists by their
members, numbers by value). Only items with at least two answers are pairable; an undefined
figure (no pairable item, or no variation at all for the chance-corrected ones) is None.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Ratings = Mapping[str, Mapping[str, Any]]


def category(value: Any) -> str:
    """A value as a hashable nominal category (lists compare by their sorted members)."""
    if isinstance(value, list):
        value = sorted(json.dumps(item, sort_keys=True) for item in value)
    return json.dumps(value, sort_keys=True)


def _pairable(ratings: Ratings) -> dict[str, dict[str, str]]:
    return {
        item: {reviewer: category(value) for reviewer, value in answers.items()}
        for item, answers in ratings.items()
        if len(answers) >= 2
    }


def percent_agreement(ratings: Ratings) -> float | None:
    """The mean over pairable items of the share of reviewer pairs that gave the same answer."""
    units = _pairable(ratings)
    if not units:
        return None
    shares = []
    for answers in units.values():
        pairs = list(itertools.combinations(answers.values(), 2))
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return sum(shares) / len(shares)


def cohens_kappa(ratings: Ratings) -> float | None:
    """Cohen's kappa when exactly two reviewers answered; over the items both answered."""
    units = _pairable(ratings)
    reviewers = sorted({reviewer for answers in units.values() for reviewer in answers})
    if len(reviewers) != 2 or not units:
        return None
    first, second = reviewers
    pairs = [(answers[first], answers[second]) for answers in units.values()]
    total = len(pairs)
    observed = sum(a == b for a, b in pairs) / total
    counts_first = Counter(a for a, _ in pairs)
    counts_second = Counter(b for _, b in pairs)
    expected = sum(counts_first[c] * counts_second[c] for c in counts_first) / (total * total)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def krippendorff_alpha(ratings: Ratings) -> float | None:
    """Krippendorff's alpha for nominal data: 1 - (n - 1) * D_o / D_e from the coincidence matrix."""
    units = _pairable(ratings)
    coincidences: Counter[tuple[str, str]] = Counter()
    for answers in units.values():
        values = list(answers.values())
        weight = 1 / (len(values) - 1)
        for i, j in itertools.permutations(range(len(values)), 2):
            coincidences[(values[i], values[j])] += weight
    totals: Counter[str] = Counter()
    for (c, _k), count in coincidences.items():
        totals[c] += count
    n = sum(totals.values())
    if n <= 1:
        return None
    disagreeing = sum(count for (c, k), count in coincidences.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if expected == 0:
        return None
    return 1 - (n - 1) * disagreeing / expected


@dataclass(frozen=True)
class SchemaAgreement:
    """Agreement figures of one schema in a session and the items where reviewers differ."""

    schema: str
    items_compared: int
    percent_agreement: float | None
    cohens_kappa: float | None
    krippendorff_alpha: float | None
    disagreements: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "schema": self.schema,
            "items_compared": self.items_compared,
            "percent_agreement": self.percent_agreement,
            "cohens_kappa": self.cohens_kappa,
            "krippendorff_alpha": self.krippendorff_alpha,
            "disagreements": self.disagreements,
        }


def schema_agreement(schema: str, ratings: Ratings) -> SchemaAgreement:
    """Every figure for one schema's ``{item: {reviewer: value}}``."""
    units = _pairable(ratings)
    disagreements = [item for item, answers in units.items() if len(set(answers.values())) > 1]
    return SchemaAgreement(
        schema=schema,
        items_compared=len(units),
        percent_agreement=percent_agreement(ratings),
        cohens_kappa=cohens_kappa(ratings),
        krippendorff_alpha=krippendorff_alpha(ratings),
        disagreements=disagreements,
    )
