"""The trace a scorer sees: its spans, each with its type, inputs and outputs.

A ``Trace`` is built either from the spans a ``predict_fn`` call just produced in this process
(``_span_capture``) or from the data directory's Parquet files (``_trace_files``); scorers
read it the same way either way. Retrieval scorers use ``retrieved_documents()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TraceSpan:
    """One span of a trace, with its inputs and outputs JSON-decoded where they are JSON."""

    span_id: str
    parent_span_id: str | None
    name: str
    span_type: str
    inputs: Any = None
    outputs: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    start_time_unix_nano: int = 0


class Trace:
    """The spans of one trace, loaded on first use (reading Parquet costs only when asked)."""

    def __init__(self, trace_id: str | None, load_spans: Callable[[], Sequence[TraceSpan]]) -> None:
        self.trace_id = trace_id
        self._load = load_spans
        self._spans: list[TraceSpan] | None = None

    @property
    def spans(self) -> list[TraceSpan]:
        """Every span, in start order."""
        if self._spans is None:
            self._spans = sorted(self._load(), key=lambda span: span.start_time_unix_nano)
        return self._spans

    def search_spans(self, *, span_type: str | None = None, name: str | None = None) -> list[TraceSpan]:
        """The spans of a type (``"RETRIEVER"``) and/or name, in start order."""
        wanted = span_type.upper() if span_type else None
        return [
            span for span in self.spans
            if (wanted is None or span.span_type == wanted) and (name is None or span.name == name)
        ]

    def retrieved_documents(self) -> list[Any]:
        """The outputs of the RETRIEVER spans, flattened to one list of documents or passages."""
        documents: list[Any] = []
        for span in self.search_spans(span_type="RETRIEVER"):
            output = span.outputs
            if isinstance(output, list):
                documents.extend(output)
            elif output is not None:
                documents.append(output)
        return documents
