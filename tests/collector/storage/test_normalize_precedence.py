"""The fast ``normalize_span`` (which skips the conventions a span has no key of) promotes exactly
what the reference, which runs every convention for every span, promotes: same winner for every
field, on many spans mixing the conventions' keys and odd values."""

from __future__ import annotations

import inspect
import random
import re
from typing import Any

from normalize_reference import reference_normalize_span

from otel_feedback_collector.storage.normalize import normalize_span

# Every attribute key the reference reads (its string literals that look like keys), so a key
# missing from a convention's table in the fast version shows up here.
_READ_KEYS = sorted(
    set(re.findall(r'"([a-zA-Z_]+(?:\.[a-zA-Z0-9_]+)+)"', inspect.getsource(reference_normalize_span)))
)
_MORE_KEYS = [
    "gen_ai.prompt.0.role", "gen_ai.prompt.1.role", "gen_ai.prompt.1.content",
    "gen_ai.completion.0.role", "gen_ai.completion.1.content", "input.mime_type",
    "gen_ai.system", "unrelated.key",
]
_VALUES: list[Any] = [
    None, "", "text", "LLM", "chain", "generation", "span", "task", "workflow", "chat",
    "embedding", "rerank", "execute_tool", "invoke_agent", "nonsense", '"CHAT_MODEL"', '"',
    '"unterminated', '{"input_tokens": 3, "output_tokens": 4, "total_tokens": 9}',
    '{"input": 5, "output": 6, "total": 11}', '{"prompt_tokens": 7, "completion_tokens": 2}',
    "{not json", "[1, 2]", "12", "12.5", "-3", "1e30", 0, 1, 42, -5, 2**63, 2**70, 3.0, 2.7,
    float("nan"), float("inf"), True, False, [1, "a"], {"input": 8}, {"a": {"b": [1]}},
]


def random_attributes(rng: random.Random) -> dict[str, Any]:
    keys = rng.sample(_READ_KEYS + _MORE_KEYS, rng.randint(0, 12))
    return {key: rng.choice(_VALUES) for key in keys}


def test_the_reference_reads_every_convention() -> None:
    for key in ("otel_feedback.span_type", "mlflow.spanType", "langfuse.observation.type",
                "traceloop.span.kind", "gen_ai.operation.name", "enduser.id"):
        assert key in _READ_KEYS


def test_fast_normalize_promotes_what_the_reference_promotes() -> None:
    rng = random.Random(8)
    resources = [{}, {"service.name": "svc"}, {"otel_feedback.experiment": "exp", "service.name": 3}]
    for _ in range(40_000):
        attributes = random_attributes(rng)
        resource = rng.choice(resources)
        assert normalize_span(attributes, resource) == reference_normalize_span(attributes, resource), attributes


def test_single_conventions_and_pairs_promote_what_the_reference_promotes() -> None:
    # Every key alone and every pair of keys with a value that promotes something.
    rng = random.Random(9)
    for first in _READ_KEYS:
        for second in [None, *_READ_KEYS]:
            attributes = {first: rng.choice(_VALUES[2:])}
            if second is not None:
                attributes[second] = rng.choice(_VALUES[2:])
            assert normalize_span(attributes, {}) == reference_normalize_span(attributes, {}), attributes
