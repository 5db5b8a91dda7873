"""Facts read once from an immutable Parquet file, remembered per (path, size, mtime).

Published files never change (a new version is a new file), so what a reader learns from one
(its footer's ranges, the span types it holds) holds until the file is gone; the size and
mtime in the key catch the rare file replaced under the same name. Readers then pay one
``stat`` per file per request instead of a footer read or a scan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

_T = TypeVar("_T")
# Files come and go with compaction: past this many remembered paths, start afresh.
_LIMIT = 100_000


class FileFacts(Generic[_T]):
    """``compute(path)`` per file, computed once per version of the file. Thread-safe."""

    def __init__(self, compute: Callable[[Path], _T]) -> None:
        self._compute = compute
        self._known: dict[str, tuple[tuple[int, int], _T]] = {}
        self._lock = threading.Lock()

    def known(self, path: Path) -> _T | None:
        """The fact for ``path`` if it was computed for this version of the file, else None
        (without computing it: for facts too costly to compute on a request)."""
        try:
            status = path.stat()
        except OSError:
            return None
        with self._lock:
            known = self._known.get(str(path))
        if known is not None and known[0] == (status.st_size, status.st_mtime_ns):
            return known[1]
        return None

    def get(self, path: Path) -> _T | None:
        """The fact for ``path``; None when the file cannot be found."""
        try:
            status = path.stat()
        except OSError:
            return None
        key = (status.st_size, status.st_mtime_ns)
        name = str(path)
        with self._lock:
            known = self._known.get(name)
        if known is not None and known[0] == key:
            return known[1]
        found = self._compute(path)
        with self._lock:
            if len(self._known) > _LIMIT:
                self._known.clear()
            self._known[name] = (key, found)
        return found

    def forget_others(self, directory: Path, kept: list[Path]) -> None:
        """Forget the files in ``directory`` other than ``kept`` (retired by a compaction:
        what was learned of them would otherwise stay until the limit)."""
        keep = {str(path) for path in kept}
        with self._lock:
            for name in [name for name in self._known if name not in keep and Path(name).parent == directory]:
                del self._known[name]


__all__ = ["FileFacts"]
