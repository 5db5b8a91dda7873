"""``opentelemetry-instrument`` finds our instrumentor through its entry point, with no code change."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

APP = textwrap.dedent(
    """
    import openai
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otel_feedback_testing import LocalOpenAIServer

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    with LocalOpenAIServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    for span in exporter.get_finished_spans():
        print("SPAN", span.name, span.attributes.get("gen_ai.provider.name"))
    """
)


def test_opentelemetry_instrument_traces_an_unmodified_app(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
           "OTEL_LOGS_EXPORTER": "none"}

    done = subprocess.run([str(launcher), sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, env=env, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["SPAN chat gpt-4o-mini openai"]
