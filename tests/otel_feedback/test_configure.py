"""configure() in fresh processes: what it installs, what it leaves alone, where spans go."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from otlp_sink_support import span_attributes


def run_app(code: str, **env: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line, returned parsed."""
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    clean_env.update(env)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=clean_env, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_has_no_side_effects():
    report = run_app("""
        import json, os, threading
        before = threading.active_count()
        import otel_feedback
        from opentelemetry import trace
        def fd_target(fd):
            try:
                return os.readlink(f"/proc/self/fd/{fd}")
            except OSError:  # the descriptor listdir itself used, closed by now
                return ""
        sockets = [fd for fd in os.listdir("/proc/self/fd") if fd_target(fd).startswith("socket:")]
        print(json.dumps({
            "threads": threading.active_count() - before,
            "proxy": isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider),
            "sockets": len(sockets),
        }))
    """)
    assert report == {"threads": 0, "proxy": True, "sockets": 0}


def test_configure_installs_a_batching_otlp_provider_when_the_app_has_none(http_sink):
    report = run_app(f"""
        import json
        import otel_feedback
        from opentelemetry import trace
        config = otel_feedback.configure({http_sink.url!r}, service_name="chatbot", experiment="tutorial",
                                         token="s3cret")

        @otel_feedback.trace(span_type="RETRIEVER")
        def retrieve(query):
            return ["doc about " + query]

        @otel_feedback.trace
        def chatbot(question):
            return retrieve(question)[0]

        chatbot("mlflow")
        print(json.dumps({{
            "installed": config.installed_provider,
            "global_is_ours": trace.get_tracer_provider() is config.tracer_provider,
            "processor": type(config.tracer_provider._active_span_processor._span_processors[0]).__name__,
            "flushed": otel_feedback.flush(),
            "trace_id": otel_feedback.get_last_active_trace_id(),
        }}))
    """)
    assert report["installed"] and report["global_is_ours"] and report["flushed"]
    assert report["processor"] == "BatchSpanProcessor"
    received = http_sink.spans()
    assert sorted(span.name for _, span in received) == ["chatbot", "retrieve"]
    resource, _ = received[0]
    assert resource["service.name"] == "chatbot"
    assert resource["otel_feedback.experiment"] == "tutorial"
    assert resource["openinference.project.name"] == "tutorial"  # where Phoenix files the traces
    retriever = next(span for _, span in received if span.name == "retrieve")
    assert span_attributes(retriever)["openinference.span.kind"] == "RETRIEVER"
    assert retriever.trace_id.hex() == report["trace_id"]
    assert http_sink.exports[0].headers["authorization"] == "Bearer s3cret"


def test_standard_otel_environment_variables_are_honoured(http_sink):
    run_app("""
        import json, otel_feedback
        otel_feedback.configure()
        with otel_feedback.start_span("from-env"):
            pass
        print(json.dumps({"flushed": otel_feedback.flush()}))
    """, OTEL_EXPORTER_OTLP_ENDPOINT=http_sink.url, OTEL_SERVICE_NAME="env-service",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test", OTEL_EXPORTER_OTLP_HEADERS="x-team=llm")
    [(resource, span)] = http_sink.spans()
    assert span.name == "from-env"
    assert resource["service.name"] == "env-service"
    assert resource["deployment.environment"] == "test"
    assert http_sink.exports[0].headers["x-team"] == "llm"


def test_grpc_protocol(grpc_sink):
    run_app(f"""
        import json, otel_feedback
        otel_feedback.configure({grpc_sink.url!r}, protocol="grpc", service_name="grpc-app")
        with otel_feedback.start_span("over-grpc", span_type="TOOL"):
            pass
        print(json.dumps({{"flushed": otel_feedback.flush()}}))
    """)
    [(resource, span)] = grpc_sink.spans()
    assert span.name == "over-grpc"
    assert resource["service.name"] == "grpc-app"


def test_an_app_provider_and_exporter_are_kept(http_sink):
    report = run_app(f"""
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({{"service.name": "existing-app"}}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        processors_before = list(provider._active_span_processor._span_processors)

        import otel_feedback
        config = otel_feedback.configure({http_sink.url!r}, service_name="ignored")

        @otel_feedback.trace(span_type="LLM")
        def generate(prompt):
            return "text"

        app_tracer = trace.get_tracer("app")
        with app_tracer.start_as_current_span("http GET /chat"):
            generate("hi")
        otel_feedback.flush()
        spans = exporter.get_finished_spans()
        print(json.dumps({{
            "installed": config.installed_provider,
            "same_provider": trace.get_tracer_provider() is provider and config.tracer_provider is provider,
            "processors_unchanged": list(provider._active_span_processor._span_processors) == processors_before,
            "names": [s.name for s in spans],
            "nested": spans[0].parent.span_id == spans[1].context.span_id,
            "service": spans[0].resource.attributes["service.name"],
        }}))
    """)
    assert report == {
        "installed": False,
        "same_provider": True,
        "processors_unchanged": True,
        "names": ["generate", "http GET /chat"],
        "nested": True,
        "service": "existing-app",
    }
    assert http_sink.spans() == []


def test_otel_sdk_disabled_means_no_provider_and_plain_calls(http_sink):
    report = run_app(f"""
        import json, otel_feedback
        from opentelemetry import trace
        config = otel_feedback.configure({http_sink.url!r})

        @otel_feedback.trace
        def work(x):
            return x * 3

        print(json.dumps({{"result": work(3), "enabled": config.enabled, "installed": config.installed_provider,
                          "proxy": isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)}}))
    """, OTEL_SDK_DISABLED="true")
    assert report == {"result": 9, "enabled": False, "installed": False, "proxy": True}
    assert http_sink.spans() == []


def test_our_own_switch_disables_tracing(http_sink):
    report = run_app(f"""
        import json, otel_feedback
        otel_feedback.configure({http_sink.url!r})

        @otel_feedback.trace
        def work(x):
            return x + 1

        print(json.dumps({{"result": work(1), "last": otel_feedback.get_last_active_trace_id(),
                          "flushed": otel_feedback.flush()}}))
    """, OTEL_FEEDBACK_TRACING="off")
    assert report["result"] == 2 and report["last"] is None
    assert http_sink.spans() == []


def test_tracing_without_any_provider_is_harmless():
    report = run_app("""
        import json, otel_feedback

        @otel_feedback.trace
        def work(x):
            otel_feedback.update_current_trace(user="u")
            return x

        print(json.dumps({"result": work(7), "last": otel_feedback.get_last_active_trace_id()}))
    """)
    assert report == {"result": 7, "last": None}


def test_feedback_without_any_provider_is_an_error_not_a_silent_drop():
    report = run_app("""
        import json, otel_feedback
        try:
            otel_feedback.log_feedback(trace_id="0af7651916cd43dd8448eb211c80319c", name="user_feedback", value=True)
            outcome = "sent"
        except otel_feedback.FeedbackNotDelivered as exc:
            outcome = str(exc)
        print(json.dumps({"outcome": outcome}))
    """)
    assert "call otel_feedback.configure(endpoint) before logging feedback" in report["outcome"]


def test_feedback_from_a_process_that_only_has_the_trace_id(http_sink):
    run_app(f"""
        import json, otel_feedback
        from otel_feedback import AssessmentSource, AssessmentSourceType
        otel_feedback.configure({http_sink.url!r}, service_name="web-backend")
        otel_feedback.log_feedback(
            trace_id="0af7651916cd43dd8448eb211c80319c", name="user_feedback", value=False,
            rationale="wrong", source=AssessmentSource(AssessmentSourceType.HUMAN, "enduser_123"))
        print(json.dumps({{"flushed": otel_feedback.flush()}}))
    """)
    assert http_sink.spans() == []  # an assessment is a log record, never a span
    [record] = http_sink.log_records()
    assert record.event_name == "gen_ai.evaluation.result"
    assert record.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert record.span_id == b""  # only the trace id was known
    assert {kv.key: kv.value.string_value for kv in record.attributes if kv.key.endswith("source.id")} == {
        "otel_feedback.assessment.source.id": "enduser_123"
    }


def test_an_app_logger_provider_is_kept_and_carries_the_assessments(http_sink):
    report = run_app(f"""
        import json
        from opentelemetry import _logs
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

        exporter = InMemoryLogRecordExporter()
        provider = LoggerProvider()
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        _logs.set_logger_provider(provider)

        import otel_feedback
        otel_feedback.configure({http_sink.url!r})
        otel_feedback.log_feedback(trace_id="0af7651916cd43dd8448eb211c80319c", name="user_feedback", value=True)
        otel_feedback.flush()
        [record] = exporter.get_finished_logs()
        print(json.dumps({{
            "same_provider": _logs.get_logger_provider() is provider,
            "event": record.log_record.event_name,
            "trace_id": format(record.log_record.trace_id, "032x"),
        }}))
    """)
    assert report == {
        "same_provider": True,
        "event": "gen_ai.evaluation.result",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
    }
    assert http_sink.log_records() == []


def test_assessments_follow_the_standard_otel_environment_variables(http_sink):
    run_app("""
        import json, otel_feedback
        otel_feedback.configure()
        otel_feedback.log_feedback(trace_id="0af7651916cd43dd8448eb211c80319c", name="user_feedback", value=True)
        print(json.dumps({"flushed": otel_feedback.flush()}))
    """, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=f"{http_sink.url}/v1/logs", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_SERVICE_NAME="env-backend", OTEL_EXPORTER_OTLP_HEADERS="x-team=llm")
    [record] = http_sink.log_records()
    assert record.event_name == "gen_ai.evaluation.result"
    with http_sink.lock:
        [logs] = http_sink.log_exports
    resource = {kv.key: kv.value.string_value for kv in logs.resource_logs[0].resource.attributes}
    assert resource["service.name"] == "env-backend"


def test_an_unreachable_collector_never_breaks_the_app():
    report = run_app("""
        import json, otel_feedback
        otel_feedback.configure("http://127.0.0.1:9")
        feedback = otel_feedback.log_feedback(trace_id="0af7651916cd43dd8448eb211c80319c", name="f", value=1)
        flushed = otel_feedback.flush(2_000)  # the failed export is logged by the SDK, not raised
        print(json.dumps({"returned": feedback.name, "flushed_is_bool": isinstance(flushed, bool)}))
    """, OTEL_EXPORTER_OTLP_TIMEOUT="1")
    assert report == {"returned": "f", "flushed_is_bool": True}
