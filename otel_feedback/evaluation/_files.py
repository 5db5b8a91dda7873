"""Writing a Parquet file so no reader ever sees it half-written."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_collector.storage.wal import fsync_directory


def write_parquet_atomically(table: pa.Table, path: Path, *, replace: bool = True) -> None:
    """Write ``table`` to ``path`` via a hidden temporary file, fsync and rename.

    With ``replace=False`` the file must not exist yet: ``FileExistsError`` is raised and
    nothing changes if someone else created it first (the rename is a hard link, which fails
    rather than overwrite).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, temporary, compression="zstd")
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(path.parent)
