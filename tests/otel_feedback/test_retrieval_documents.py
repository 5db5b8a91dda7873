"""RETRIEVER spans record what they return as documents, in OpenInference and GenAI terms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import otel_feedback
from otel_feedback import trace
from otel_feedback._documents import MAX_DOCUMENTS


def _documents(span: Any) -> dict[str, Any]:
    return {key: value for key, value in span.attributes.items()
            if key.startswith("retrieval.documents.") or key == "gen_ai.retrieval.documents"}


def test_dicts_with_ids_scores_and_metadata(spans) -> None:
    @trace(span_type="RETRIEVER")
    def retrieve(question: str) -> list[dict[str, Any]]:
        return [{"id": "doc-1", "content": "MLflow tracks runs.", "score": 0.9, "metadata": {"source": "a.md"}},
                {"id": 2, "page_content": "Phoenix shows traces.", "score": 1}]

    retrieve("what?")

    assert _documents(spans.one("retrieve")) == {
        "retrieval.documents.0.document.id": "doc-1",
        "retrieval.documents.0.document.score": 0.9,
        "retrieval.documents.0.document.content": "MLflow tracks runs.",
        "retrieval.documents.0.document.metadata": '{"source": "a.md"}',
        "retrieval.documents.1.document.id": 2,
        "retrieval.documents.1.document.score": 1.0,
        "retrieval.documents.1.document.content": "Phoenix shows traces.",
        "gen_ai.retrieval.documents": json.dumps([
            {"id": "doc-1", "score": 0.9, "content": "MLflow tracks runs.", "metadata": {"source": "a.md"}},
            {"id": 2, "score": 1.0, "content": "Phoenix shows traces."}]),
    }


@dataclass
class Document:
    """Shaped like a LangChain ``Document``."""

    page_content: str
    metadata: dict[str, Any] = field(default_factory=dict)


def test_strings_and_document_objects(spans) -> None:
    @trace(span_type="RETRIEVER")
    def strings() -> list[str]:
        return ["first", "second"]

    @trace(span_type="RETRIEVER")
    def objects() -> list[Document]:
        return [Document("text", {"page": 3})]

    strings()
    objects()

    assert _documents(spans.one("strings")) == {
        "retrieval.documents.0.document.content": "first",
        "retrieval.documents.1.document.content": "second",
        "gen_ai.retrieval.documents": json.dumps([{"content": "first"}, {"content": "second"}]),
    }
    assert _documents(spans.one("objects"))["retrieval.documents.0.document.metadata"] == '{"page": 3}'


def test_start_span_outputs_and_the_document_cap(spans) -> None:
    with otel_feedback.start_span("search", span_type="RETRIEVER") as span:
        span.set_outputs([f"doc {n}" for n in range(MAX_DOCUMENTS + 5)])

    attributes = spans.one("search").attributes
    assert attributes[f"retrieval.documents.{MAX_DOCUMENTS - 1}.document.content"] == f"doc {MAX_DOCUMENTS - 1}"
    assert f"retrieval.documents.{MAX_DOCUMENTS}.document.content" not in attributes
    assert len(json.loads(attributes["gen_ai.retrieval.documents"])) == MAX_DOCUMENTS


def test_other_outputs_and_other_span_types_record_no_documents(spans) -> None:
    @trace(span_type="RETRIEVER")
    def not_a_list() -> dict[str, str]:
        return {"content": "one dict is not a list of documents"}

    @trace(span_type="RETRIEVER")
    def mixed() -> list[Any]:
        return ["text", 42]

    @trace
    def chain() -> list[str]:
        return ["a", "b"]

    not_a_list()
    mixed()
    chain()

    for name in ("not_a_list", "mixed", "chain"):
        assert _documents(spans.one(name)) == {}
