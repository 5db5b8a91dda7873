"""Each GenAI convention, with spans shaped the way that tool emits them, lands in the promoted
columns; the raw attributes are kept as they came."""

from __future__ import annotations

import json

import pytest

from otel_feedback_collector.storage.span_rows import traces_request_to_rows
from otlp_builders import make_span, new_trace_id, traces_request

_COLUMNS = (
    "span_type", "input", "output", "model", "input_tokens", "output_tokens", "total_tokens",
    "session_id", "user_id", "experiment",
)


def promoted(attributes: dict, resource: dict | None = None) -> dict:
    span = make_span(trace_id=new_trace_id(), attributes=attributes)
    table, _ = traces_request_to_rows(traces_request([span], resource=resource))
    row = table.to_pylist()[0]
    assert json.loads(row["attributes"]) == attributes  # raw attributes always kept
    return {column: row[column] for column in _COLUMNS}


def test_openinference_llm_span() -> None:
    row = promoted(
        {
            "openinference.span.kind": "LLM",
            "input.value": '{"messages": [{"role": "user", "content": "hi"}]}',
            "input.mime_type": "application/json",
            "output.value": "hello",
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 12,
            "llm.token_count.completion": 3,
            "llm.token_count.total": 15,
            "session.id": "sess-1",
            "user.id": "user-1",
        }
    )
    assert row == {
        "span_type": "LLM",
        "input": '{"messages": [{"role": "user", "content": "hi"}]}',
        "output": "hello",
        "model": "gpt-4o",
        "input_tokens": 12,
        "output_tokens": 3,
        "total_tokens": 15,
        "session_id": "sess-1",
        "user_id": "user-1",
        "experiment": "test-app",
    }


def test_our_span_type_wins_over_openinference_kind() -> None:
    row = promoted({"otel_feedback.span_type": "CHAT_MODEL", "openinference.span.kind": "LLM"})
    assert row["span_type"] == "CHAT_MODEL"
    row = promoted({"otel_feedback.span_type": "PARSER", "openinference.span.kind": "CHAIN"})
    assert row["span_type"] == "PARSER"


def test_mlflow_span_with_json_encoded_attributes() -> None:
    row = promoted(
        {
            "mlflow.traceRequestId": '"tr-123"',
            "mlflow.spanType": '"CHAT_MODEL"',
            "mlflow.spanInputs": '{"messages": [{"role": "user", "content": "hi"}]}',
            "mlflow.spanOutputs": '"hello there"',
            "mlflow.chat.tokenUsage": '{"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}',
        }
    )
    assert row["span_type"] == "CHAT_MODEL"
    assert json.loads(row["input"]) == {"messages": [{"role": "user", "content": "hi"}]}
    assert json.loads(row["output"]) == "hello there"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (7, 2, 9)


def test_langfuse_generation() -> None:
    row = promoted(
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.input": '[{"role": "user", "content": "hi"}]',
            "langfuse.observation.output": '{"role": "assistant", "content": "yo"}',
            "langfuse.observation.model.name": "claude-3-haiku",
            "langfuse.observation.usage_details": '{"input": 20, "output": 4, "total": 24}',
            "session.id": "lf-session",
            "user.id": "lf-user",
        }
    )
    assert row["span_type"] == "LLM"
    assert row["input"] == '[{"role": "user", "content": "hi"}]'
    assert row["model"] == "claude-3-haiku"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (20, 4, 24)
    assert (row["session_id"], row["user_id"]) == ("lf-session", "lf-user")


def test_langfuse_plain_span_and_compat_ids() -> None:
    row = promoted(
        {
            "langfuse.observation.type": "span",
            "langfuse.trace.input": "question",
            "langfuse.session.id": "old-session",
            "langfuse.user.id": "old-user",
        }
    )
    assert (row["span_type"], row["input"]) == ("CHAIN", "question")
    assert (row["session_id"], row["user_id"]) == ("old-session", "old-user")


def test_openllmetry_chat_span_with_indexed_prompts() -> None:
    row = promoted(
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "be brief",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "hi",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "hello",
            "gen_ai.usage.prompt_tokens": 11,
            "gen_ai.usage.completion_tokens": 1,
            "llm.usage.total_tokens": 12,
            "traceloop.association.properties.session_id": "tl-session",
            "traceloop.association.properties.user_id": "tl-user",
        }
    )
    assert row["span_type"] == "LLM"
    assert json.loads(row["input"]) == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}
    ]
    assert json.loads(row["output"]) == [{"role": "assistant", "content": "hello"}]
    assert row["model"] == "gpt-4o-mini-2024-07-18"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (11, 1, 12)
    assert (row["session_id"], row["user_id"]) == ("tl-session", "tl-user")


def test_openllmetry_workflow_and_task_spans() -> None:
    row = promoted(
        {
            "traceloop.span.kind": "workflow",
            "traceloop.entity.name": "answer_question",
            "traceloop.entity.input": '{"args": ["q"], "kwargs": {}}',
            "traceloop.entity.output": '"a"',
        }
    )
    assert (row["span_type"], row["input"], row["output"]) == (
        "CHAIN", '{"args": ["q"], "kwargs": {}}', '"a"'
    )
    assert promoted({"traceloop.span.kind": "tool"})["span_type"] == "TOOL"


@pytest.mark.parametrize(
    ("operation", "span_type"),
    [("chat", "LLM"), ("embeddings", "EMBEDDING"), ("execute_tool", "TOOL"),
     ("invoke_agent", "AGENT"), ("text_completion", "LLM")],
)
def test_otel_genai_operation_names(operation: str, span_type: str) -> None:
    assert promoted({"gen_ai.operation.name": operation})["span_type"] == span_type


def test_otel_genai_chat_span() -> None:
    row = promoted(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 30,
            "gen_ai.usage.output_tokens": 8,
            "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]',
            "gen_ai.output.messages": '[{"role": "assistant", "parts": []}]',
            "gen_ai.conversation.id": "conv-9",
        },
        resource={"service.name": "genai-app", "otel_feedback.experiment": "exp-a"},
    )
    assert row["span_type"] == "LLM"
    assert row["model"] == "gpt-4o-2024-08-06"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (30, 8, 38)
    assert row["input"].startswith('[{"role": "user"')
    assert row["session_id"] == "conv-9"
    assert row["experiment"] == "exp-a"


def test_span_attribute_experiment_wins_and_unknown_type_default() -> None:
    row = promoted({"otel_feedback.experiment": "exp-span"}, resource={"service.name": "svc"})
    assert (row["experiment"], row["span_type"]) == ("exp-span", "UNKNOWN")
    assert promoted({}, resource={"service.name": "svc"})["experiment"] == "svc"


def test_openinference_wins_over_later_conventions() -> None:
    row = promoted(
        {
            "openinference.span.kind": "AGENT",
            "gen_ai.operation.name": "chat",
            "input.value": "from openinference",
            "gen_ai.input.messages": "from genai",
        }
    )
    assert (row["span_type"], row["input"]) == ("AGENT", "from openinference")
