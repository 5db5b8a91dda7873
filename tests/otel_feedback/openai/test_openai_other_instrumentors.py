"""Another OpenAI instrumentation wrapping the client: ours steps aside, says so once, and comes
back when the other one is removed (one call, one LLM span; tokens are not counted twice)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import wrapt
from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInferenceInstrumentor
from openai.resources.chat.completions import Completions

from otel_feedback.openai import _others

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    _others._warned.clear()
    yield
    _others._warned.clear()


def _other_tracer_wrapper(wrapped, instance, args, kwargs):  # noqa: ANN001, ANN202 - wrapt's signature
    """Stands in for OpenLLMetry's wrapper on ``Completions.create`` (it wraps the same method with wrapt)."""
    return wrapped(*args, **kwargs)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "another OpenAI instrumentation" in r.getMessage()]


def test_openinference_on_the_client_means_no_span_of_ours_and_one_warning(client, instrumented, spans, caplog) -> None:
    other = OpenInferenceInstrumentor()
    other.instrument()  # uses the global provider, which the test's `spans` exporter does not see
    try:
        with caplog.at_level(logging.WARNING, logger="otel_feedback"):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        other.uninstrument()

    assert [s for s in spans.all() if s.instrumentation_scope.name == "otel_feedback"] == []
    (warning,) = _warnings(caplog)
    assert "openinference.instrumentation.openai" in warning

    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # the other one is gone
    assert len(spans.named("chat gpt-4o-mini")) == 1


@pytest.mark.parametrize("order", ["other first", "ours first"])
def test_a_wrapt_wrapper_on_the_method_means_no_span_of_ours(client, spans, caplog, order) -> None:
    from otel_feedback.openai import autolog

    original = Completions.__dict__["create"]
    try:
        if order == "ours first":
            instrumentor = autolog()
            wrapt.wrap_function_wrapper(Completions, "create", _other_tracer_wrapper)
        else:
            wrapt.wrap_function_wrapper(Completions, "create", _other_tracer_wrapper)
            instrumentor = autolog()
        with caplog.at_level(logging.WARNING, logger="otel_feedback"):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        instrumentor.uninstrument()
    finally:
        Completions.create = original

    assert spans.named("chat gpt-4o-mini") == []
    (warning,) = _warnings(caplog)
    assert __name__ in warning  # names the module whose wrapper it found
