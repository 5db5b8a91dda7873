"""The collector's catalog: a DuckDB file in the data directory for what people create by hand —
users, label schemas, labeling sessions, their items, per-reviewer state and current answers.

``CatalogDatabase(data_dir)`` opens it; the functions of :mod:`~otel_feedback_collector.catalog.users`,
:mod:`~otel_feedback_collector.catalog.schemas` and :mod:`~otel_feedback_collector.catalog.sessions` read and change it;
:func:`export_catalog` gives it all as JSON.
"""

from __future__ import annotations

from otel_feedback_collector.catalog.database import CATALOG_FILE, CatalogDatabase, CatalogLocked
from otel_feedback_collector.catalog.export import export_catalog

__all__ = ["CATALOG_FILE", "CatalogDatabase", "CatalogLocked", "export_catalog"]
