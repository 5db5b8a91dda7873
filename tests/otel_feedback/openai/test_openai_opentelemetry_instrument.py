"""Zero-code: ``opentelemetry-instrument python app.py`` with the distro, as docs/openai.md says.

An unmodified app (the real openai client against the local stand-in model) runs under
``opentelemetry-instrument`` in a child process; the distro configures the SDK from the standard
variables and exports over OTLP/HTTP to a real collector on loopback, where we look for the spans.
OpenInference's OpenAI instrumentor is installed too (the dev extra brings it), under the entry
point name ``openai``: with both on, one call still makes one LLM span.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_feedback_collector.server import CollectorServer

APP = textwrap.dedent(
    """
    import sys

    import openai

    from otel_feedback_testing import LocalOpenAIServer

    with LocalOpenAIServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    """
)


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorServer]:
    """One real collector on free loopback ports for the module."""
    server = CollectorServer(tmp_path_factory.mktemp("data"), port=0, grpc_port=None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_app(tmp_path: Path, collector: CollectorServer, service: str, disabled: str) -> subprocess.CompletedProcess[str]:
    """Run the app under ``opentelemetry-instrument`` with the settings docs/openai.md lists."""
    script = tmp_path / "app.py"
    script.write_text(APP)
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("OTEL_")},
        "OTEL_SERVICE_NAME": service,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.http_url,
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": disabled,
    }
    done = subprocess.run([str(launcher), sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done


def spans_of(collector: CollectorServer, service: str) -> list[dict[str, Any]]:
    """The spans the collector stored for ``service``."""
    collector.store.flush()
    relation = collector.store.connect().sql(
        "select name, span_kind, span_type, model, input_tokens, output_tokens, scope_name, attributes "
        "from spans where service_name = ? order by start_time_unix_nano", params=[service]
    )
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def test_opentelemetry_instrument_sends_our_llm_span_to_a_collector(tmp_path: Path, collector: CollectorServer) -> None:
    run_app(tmp_path, collector, "zero-code-ours", disabled="openai")

    (span,) = spans_of(collector, "zero-code-ours")
    assert span["name"] == "chat gpt-4o-mini"
    assert span["scope_name"] == "otel_feedback"
    assert span["span_kind"] == "CLIENT"
    assert span["span_type"] == "CHAT_MODEL"
    assert (span["model"], span["input_tokens"], span["output_tokens"]) == ("gpt-4o-mini", 1, 7)
    attributes = json.loads(span["attributes"])
    assert attributes["otel_feedback.openai.api"] == "chat.completions.create"
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello"}]}]


def test_disabling_ours_by_its_name_leaves_the_other_instrumentor(tmp_path: Path, collector: CollectorServer) -> None:
    run_app(tmp_path, collector, "zero-code-theirs", disabled="otel_feedback_openai")

    (span,) = spans_of(collector, "zero-code-theirs")
    assert span["scope_name"].startswith("openinference.instrumentation.openai")
    assert "otel_feedback.openai.api" not in json.loads(span["attributes"])


def test_with_both_instrumentors_one_call_makes_one_llm_span(tmp_path: Path, collector: CollectorServer) -> None:
    done = run_app(tmp_path, collector, "zero-code-both", disabled="")

    (span,) = spans_of(collector, "zero-code-both")
    assert span["scope_name"].startswith("openinference.instrumentation.openai")
    assert span["input_tokens"] == 1  # counted once
    warnings = [line for line in done.stderr.splitlines() if "another OpenAI instrumentation" in line]
    assert len(warnings) == 1
    assert "openinference.instrumentation.openai" in warnings[0]
    assert "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=otel_feedback_openai" in warnings[0]
