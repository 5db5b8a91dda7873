"""Writing a Parquet file so no reader ever sees it half-written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_core.files import publish_file, temporary_path


def write_parquet_atomically(table: pa.Table, path: Path, *, replace: bool = True) -> None:
    """Write ``table`` to ``path`` via a hidden temporary file, fsync and rename.

    With ``replace=False`` the file must not exist yet: ``FileExistsError`` is raised and
    nothing changes if someone else created it first (the rename is a hard link, which fails
    rather than overwrite).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        pq.write_table(table, temporary, compression="zstd")
        publish_file(temporary, path, replace=replace)
    finally:
        temporary.unlink(missing_ok=True)
