"""Retrieved documents on RETRIEVER spans, in the OpenInference and OTel GenAI conventions.

When a ``@trace(span_type="RETRIEVER")`` function (or a RETRIEVER ``start_span`` given outputs)
returns a list of documents, each one becomes ``retrieval.documents.N.document.id`` /
``.content`` / ``.score`` / ``.metadata`` (OpenInference: Phoenix's document view), and the list
becomes ``gen_ai.retrieval.documents`` (GenAI: JSON text of ``{"id", "score", "content",
"metadata"}`` objects). A document may be a string (its content), a mapping (``id``,
``content`` / ``page_content`` / ``text``, ``score``, ``metadata``) or an object with those
attributes (a LangChain ``Document``, say). Anything else is not a document list: no attributes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from otel_feedback_core.wire import GEN_AI_RETRIEVAL_DOCUMENTS, RETRIEVAL_DOCUMENTS

# The OTel SDK keeps 128 attributes per span by default; four per document must leave room for
# the span's other attributes, so only the first documents are spelled out.
MAX_DOCUMENTS = 25

_CONTENT_KEYS = ("content", "page_content", "text")


def _field(document: Any, *names: str) -> Any:
    for name in names:
        value = document.get(name) if isinstance(document, Mapping) else getattr(document, name, None)
        if value is not None:
            return value
    return None


def _document(item: Any) -> dict[str, Any] | None:
    if isinstance(item, str):
        return {"content": item}
    content = _field(item, *_CONTENT_KEYS)
    if not isinstance(content, str):
        return None
    document: dict[str, Any] = {}
    doc_id = _field(item, "id", "document_id")
    if isinstance(doc_id, (str, int)) and not isinstance(doc_id, bool):
        document["id"] = doc_id
    score = _field(item, "score", "relevance_score")
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        document["score"] = float(score)
    document["content"] = content
    metadata = _field(item, "metadata")
    if isinstance(metadata, Mapping) and metadata:
        document["metadata"] = dict(metadata)
    return document


def document_attributes(output: Any) -> dict[str, Any]:
    """The attributes of ``output`` as retrieved documents; ``{}`` when it is not a list of them."""
    if isinstance(output, (str, bytes, Mapping)) or not isinstance(output, Sequence) or not output:
        return {}
    documents = [_document(item) for item in output[:MAX_DOCUMENTS]]
    if any(document is None for document in documents):
        return {}
    attributes: dict[str, Any] = {}
    for index, document in enumerate(documents):
        assert document is not None
        prefix = f"{RETRIEVAL_DOCUMENTS}.{index}.document."
        for key, value in document.items():
            if key == "metadata":
                value = json.dumps(value, ensure_ascii=False, default=str)
            attributes[prefix + key] = value
    attributes[GEN_AI_RETRIEVAL_DOCUMENTS] = json.dumps(documents, ensure_ascii=False, default=str)
    return attributes
