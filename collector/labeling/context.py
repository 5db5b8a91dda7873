"""``LabelingContext``: what the labeling routes share — the store, its catalog and the API's
store access — with the catalog opened on first use (an app built without a data directory,
as the OpenAPI test does, never touches it)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.api.store_access import ApiStore
from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.schemas import get_schemas
from otel_feedback_collector.catalog.sessions import SessionRecord, get_session
from otel_feedback.label_schemas import LabelSchema

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


class LabelingContext:
    """The store and the catalog of one collector, for the REST and review-app routes."""

    def __init__(self, store: Any, data_dir: Path | None) -> None:
        self.store = store
        self.api = ApiStore(store)
        self._data_dir = data_dir
        self._catalog: CatalogDatabase | None = None
        self._secret: bytes | None = None
        self._guard = threading.Lock()

    @property
    def catalog(self) -> CatalogDatabase:
        """The catalog of the store's data directory."""
        with self._guard:
            if self._catalog is None:
                directory = self._data_dir or getattr(self.store, "data_dir", None)
                if directory is None:
                    raise RuntimeError("The collector has no data directory, so it has no catalog.")
                self._catalog = CatalogDatabase(directory)
            return self._catalog

    def cookie_secret(self) -> bytes:
        """The key that signs review-app cookies (read from the catalog once)."""
        if self._secret is None:
            self._secret = self.catalog.secret()
        return self._secret

    def session(self, session_id: str) -> SessionRecord:
        """The session, or a 404 :class:`ApiError`."""
        found = get_session(self.catalog, session_id) if _SESSION_ID.match(session_id) else None
        if found is None:
            raise ApiError(
                404, f"There is no labeling session {session_id!r}; list them with GET /api/v1/labeling-sessions."
            )
        return found

    def schemas_of(self, session: SessionRecord) -> list[LabelSchema]:
        """The session's schemas in the session's order (ones deleted since are left out)."""
        found = get_schemas(self.catalog, session.label_schemas)
        return [found[name] for name in session.label_schemas if name in found]
