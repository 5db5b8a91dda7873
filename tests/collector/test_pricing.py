"""The price table: longest-prefix model matching, a span's own cost first, user price files
(JSON and TOML) with plain-sentence errors, and how dollars are written."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from otel_feedback_collector.pricing import (
    DEFAULT_PRICES,
    PRICES_DATE,
    PRICES_ENV,
    ModelPrice,
    PriceTable,
    format_cost,
    load_price_table,
    read_price_file,
)


def test_a_dated_model_name_takes_its_family_price_by_longest_prefix() -> None:
    table = PriceTable(DEFAULT_PRICES)
    assert table.price_of("gpt-4o-mini-2024-07-18") == ModelPrice(0.15, 0.60)
    assert table.price_of("gpt-4o-2024-08-06") == ModelPrice(2.50, 10.00)
    assert table.price_of("GPT-4.1-mini") == ModelPrice(0.40, 1.60)
    assert table.price_of("openai/o4-mini") == ModelPrice(1.10, 4.40)
    assert table.price_of("claude-3-5-sonnet-20241022") == ModelPrice(3.00, 15.00)
    assert table.price_of("claude-sonnet-4-20250514") == ModelPrice(3.00, 15.00)
    # A prefix counts only at a name boundary, and unknown models have no price.
    assert table.price_of("o3x") is None
    assert table.price_of("my-own-model") is None and table.price_of(None) is None
    assert PRICES_DATE.count("-") == 2


def test_span_cost_from_tokens_and_from_the_spans_own_cost() -> None:
    table = PriceTable(DEFAULT_PRICES)
    # gpt-4o-mini: 1,200 input tokens at $0.15/M and 300 output tokens at $0.60/M.
    assert math.isclose(table.span_cost("gpt-4o-mini", 1200, 300), 0.00036)
    assert math.isclose(table.span_cost("gpt-4o-mini", None, 1_000_000), 0.60)
    # The app's own figure wins over the table; a bad one is ignored.
    assert table.span_cost("gpt-4o-mini", 1200, 300, own_cost=0.5) == 0.5
    assert math.isclose(table.span_cost("gpt-4o-mini", 1200, 300, own_cost=float("nan")), 0.00036)
    assert table.span_cost("unknown-model", 10, 10) is None
    assert table.span_cost("gpt-4o", None, None) is None


def test_a_json_price_file_extends_and_overrides_the_table(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"my-finetune": {"input": 1, "output": 2}, "gpt-4o": {"input": 5, "output": 20}}))
    table = load_price_table(prices, environ={})
    assert table.price_of("my-finetune-v3") == ModelPrice(1.0, 2.0)
    assert table.price_of("gpt-4o") == ModelPrice(5.0, 20.0)
    assert table.price_of("gpt-4o-mini") == ModelPrice(0.15, 0.60)  # the rest stays
    # The variable names the file when no path is given.
    assert load_price_table(None, environ={PRICES_ENV: str(prices)}).price_of("my-finetune") == ModelPrice(1.0, 2.0)
    assert load_price_table(None, environ={}).price_of("my-finetune") is None


def test_a_toml_price_file(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('["local-llama"]\ninput = 0.0\noutput = 0.0\n\n["big-model"]\ninput = 3\noutput = 9\n')
    assert read_price_file(prices) == {"local-llama": ModelPrice(0.0, 0.0), "big-model": ModelPrice(3.0, 9.0)}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must map model names"),
        ('{"m": {"input": -1, "output": 1}}', "must be numbers of dollars, 0 or more"),
        ('{"m": {"input": true, "output": 1}}', "must be numbers of dollars"),
        ('{"m": {"price": 1}}', 'must be {"input": N, "output": N}'),
    ],
)
def test_a_bad_price_file_says_what_to_fix(tmp_path: Path, content: str, message: str) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(content)
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        read_price_file(prices)
    with pytest.raises(ValueError, match="Cannot read the price file"):
        read_price_file(tmp_path / "missing.json")


def test_dollars_are_written_with_four_significant_digits_below_a_dollar() -> None:
    assert format_cost(0.00036) == "$0.00036"
    assert format_cost(0.000014850) == "$0.00001485"
    assert format_cost(0.45) == "$0.45"
    assert format_cost(0.5) == "$0.50"
    assert format_cost(1234.5) == "$1,234.50"
    assert format_cost(0) == "$0" and format_cost(None) == ""
