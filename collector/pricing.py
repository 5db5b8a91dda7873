"""What an LLM call costs: a price table per model (US dollars per million tokens) and the rule
that turns a span's token counts, or its own cost attribute, into dollars.

The built-in prices are the providers' published list prices on :data:`PRICES_DATE` (standard
tier, no batch or cache discounts). They change; a user extends or replaces them with a JSON or
TOML file, given as ``otel-feedback serve --prices FILE`` or in ``$OTEL_FEEDBACK_PRICES``::

    {"my-finetune": {"input": 0.30, "output": 1.20},
     "gpt-4o":      {"input": 2.50, "output": 10.00}}

A model name matches the longest table entry it starts with (``gpt-4o-mini-2024-07-18`` is
``gpt-4o-mini``, not ``gpt-4o``), case-insensitively, after any ``provider/`` prefix. A span
that already carries a cost (``gen_ai.usage.cost``, OpenInference ``llm.cost.total``) keeps it:
the app knew its real price.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # Python 3.11+; on 3.10 a price file must be JSON
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - depends on the interpreter
    tomllib = None  # type: ignore[assignment]

PRICES_ENV = "OTEL_FEEDBACK_PRICES"
PRICES_DATE = "2025-08-01"
# Span attributes that carry a call's cost in US dollars, in the order they are trusted.
COST_ATTRIBUTES = ("gen_ai.usage.cost", "llm.cost.total")
_PER = 1_000_000


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million input tokens and per million output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float:
        """The dollars of that many tokens (a missing count is zero)."""
        return ((input_tokens or 0) * self.input + (output_tokens or 0) * self.output) / _PER


# List prices on PRICES_DATE (OpenAI, Anthropic and Google pricing pages, standard tier).
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-4": ModelPrice(30.00, 60.00),
    "gpt-3.5-turbo": ModelPrice(0.50, 1.50),
    "gpt-5": ModelPrice(1.25, 10.00),
    "gpt-5-mini": ModelPrice(0.25, 2.00),
    "gpt-5-nano": ModelPrice(0.05, 0.40),
    "o1": ModelPrice(15.00, 60.00),
    "o1-mini": ModelPrice(1.10, 4.40),
    "o3": ModelPrice(2.00, 8.00),
    "o3-mini": ModelPrice(1.10, 4.40),
    "o3-pro": ModelPrice(20.00, 80.00),
    "o4-mini": ModelPrice(1.10, 4.40),
    "text-embedding-3-small": ModelPrice(0.02, 0.0),
    "text-embedding-3-large": ModelPrice(0.13, 0.0),
    "claude-opus-4": ModelPrice(15.00, 75.00),
    "claude-opus-4-1": ModelPrice(15.00, 75.00),
    "claude-sonnet-4": ModelPrice(3.00, 15.00),
    "claude-3-7-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-5-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00),
    "claude-3-opus": ModelPrice(15.00, 75.00),
    "claude-3-haiku": ModelPrice(0.25, 1.25),
    "gemini-2.5-pro": ModelPrice(1.25, 10.00),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50),
    "gemini-2.0-flash": ModelPrice(0.10, 0.40),
}


class PriceTable:
    """Prices by model name, matched by longest prefix (see the module docstring)."""

    def __init__(self, prices: Mapping[str, ModelPrice]) -> None:
        self._prices = {name.strip().lower(): price for name, price in prices.items()}
        # Longest first, so the first prefix found is the most specific one.
        self._names = sorted(self._prices, key=len, reverse=True)

    @property
    def prices(self) -> dict[str, ModelPrice]:
        """The table, by lower-case model name."""
        return dict(self._prices)

    def price_of(self, model: str | None) -> ModelPrice | None:
        """The price of ``model``, or None when no entry matches it."""
        if not model:
            return None
        name = model.strip().lower().rsplit("/", 1)[-1]
        for known in self._names:
            # A prefix counts only at a name boundary: "o3" is not the price of "o3x".
            if name == known or (name.startswith(known) and name[len(known)] in "-@:."):
                return self._prices[known]
        return None

    def span_cost(
        self,
        model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        *,
        own_cost: float | None = None,
    ) -> float | None:
        """A span's dollars: its own cost attribute when it has one, else its tokens at its
        model's price; None when neither is known (no cost, no tokens or an unknown model)."""
        if own_cost is not None and math.isfinite(own_cost) and own_cost >= 0:
            return float(own_cost)
        if input_tokens is None and output_tokens is None:
            return None
        price = self.price_of(model)
        return None if price is None else price.cost(input_tokens, output_tokens)

    def extended(self, prices: Mapping[str, ModelPrice]) -> PriceTable:
        """This table with ``prices`` added (an existing name takes the new price)."""
        return PriceTable({**self._prices, **{name.lower(): price for name, price in prices.items()}})


def read_price_file(path: str | Path) -> dict[str, ModelPrice]:
    """The prices in a JSON or TOML file (by its suffix): ``{model: {input, output}}`` in US
    dollars per million tokens. ValueError says what is wrong and how to fix it."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"Cannot read the price file {file}: {exc.strerror or exc}.") from exc
    kind = "TOML" if file.suffix.lower() == ".toml" else "JSON"
    if kind == "TOML" and tomllib is None:
        raise ValueError(f"Reading the TOML price file {file} needs Python 3.11 or newer; write it as JSON instead.")
    try:
        # tomllib's TOMLDecodeError is a ValueError.
        raw: Any = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except ValueError as exc:
        raise ValueError(f"The price file {file} is not valid {kind} ({exc}); fix it or remove --prices.") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"The price file {file} must map model names to {{\"input\": N, \"output\": N}}.")
    return {str(name): _price(file, str(name), entry) for name, entry in raw.items()}


def _price(file: Path, name: str, entry: Any) -> ModelPrice:
    if not isinstance(entry, dict) or set(entry) - {"input", "output"} or "input" not in entry:
        raise ValueError(
            f"In {file}, {name!r} must be {{\"input\": N, \"output\": N}} (US dollars per million tokens)."
        )
    values = [entry["input"], entry.get("output", 0)]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"In {file}, the prices of {name!r} must be numbers of dollars, 0 or more; got {value!r}.")
    return ModelPrice(float(values[0]), float(values[1]))


def format_cost(dollars: float | None) -> str:
    """``$0.45``, ``$12.30``, ``$0.00036``: four significant digits below a dollar, cents above."""
    if dollars is None:
        return ""
    if dollars == 0:
        return "$0"
    if dollars >= 1:
        return f"${dollars:,.2f}"
    digits = max(2, 3 - math.floor(math.log10(dollars)))
    text = f"{dollars:.{digits}f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def load_price_table(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> PriceTable:
    """The built-in prices extended by ``path`` (else by the file in ``$OTEL_FEEDBACK_PRICES``)."""
    environment = os.environ if environ is None else environ
    chosen = path or environment.get(PRICES_ENV) or None
    table = PriceTable(DEFAULT_PRICES)
    return table.extended(read_price_file(chosen)) if chosen else table
