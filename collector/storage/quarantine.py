"""Quarantine: where a WAL record goes when it cannot be converted to Parquet.

Values are normalised at the edge (``value_bounds``), so a record that still fails conversion
is a bug or damage we did not foresee. It must not stop the writer, which would leave every
later record unqueryable and the directory unable to start. Instead the record is set aside,
durably and byte for byte, in ``wal/quarantine/``:

    wal/quarantine/record-<sha256 of kind and payload>.frame    the WAL frame (re-playable)
    wal/quarantine/record-<...>.reason.txt                      why, with the traceback

The file name is the record's digest, so a flush that is retried quarantines a record once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import traceback
from pathlib import Path

from otel_feedback_collector.storage.wal import WalRecord, encode_frame
from otel_feedback_core.files import write_bytes_atomically

logger = logging.getLogger("otel_feedback_collector.storage")

QUARANTINE_DIR = "quarantine"
_FRAME_SUFFIX = ".frame"


class Quarantine:
    """The quarantine directory of one WAL directory, and how many records it holds."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._count = (
            sum(1 for _ in directory.glob(f"*{_FRAME_SUFFIX}")) if directory.is_dir() else 0
        )

    @property
    def count(self) -> int:
        """Records in quarantine, set aside by this process or an earlier one."""
        return self._count

    def add(self, record: WalRecord, error: BaseException) -> Path:
        """Write ``record`` and the reason durably, log loudly, return the frame's path."""
        digest = hashlib.sha256(bytes([int(record.kind)]) + record.payload).hexdigest()
        frame_path = self.directory / f"record-{digest}{_FRAME_SUFFIX}"
        with self._lock:
            if not frame_path.exists():
                self.directory.mkdir(parents=True, exist_ok=True)
                reason = "".join(traceback.format_exception(error))
                write_bytes_atomically(
                    frame_path.with_suffix(".reason.txt"),
                    f"{record.kind.name} record of {len(record.payload)} bytes could not be "
                    f"stored: {type(error).__name__}: {error}\n\n{reason}".encode(),
                )
                write_bytes_atomically(frame_path, encode_frame(record.kind, record.payload))
                self._count += 1
        logger.error(
            "RECORD QUARANTINED: a %s write-ahead log record (%d bytes) could not be stored "
            "(%s: %s). It is kept in %s; the writer goes on with the next record. Please "
            "report this with the .reason.txt file next to it.",
            record.kind.name, len(record.payload), type(error).__name__, error, frame_path,
        )
        return frame_path
