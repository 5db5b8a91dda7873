"""Writing a file so that no reader ever sees it half-written, and a crash never loses it.

The recipe: write a temporary file beside the final one, ``fsync`` it, rename it into place
(``os.replace``; or a hard link when an existing file must not be overwritten), and ``fsync``
the directory so the rename itself is durable.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Make a finished file's bytes durable (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(directory: Path) -> None:
    """Make renames and new files in a directory durable (a directory is fsynced through a
    read-only descriptor, like a file)."""
    fsync_file(directory)


def temporary_path(final: Path) -> Path:
    """A hidden, unique temporary name beside ``final`` (readers that glob skip ``.`` files)."""
    return final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")


def publish_file(temporary: Path, final: Path, *, replace: bool = True) -> None:
    """fsync a finished ``temporary`` file, move it to ``final`` and make the move durable.

    With ``replace=False`` ``final`` must not exist yet: ``FileExistsError`` is raised and nothing
    changes if someone else created it first (a hard link fails rather than overwrite); the
    temporary file is then left for the caller to remove.
    """
    fsync_file(temporary)
    if replace:
        os.replace(temporary, final)
    else:
        os.link(temporary, final)
        temporary.unlink()
    fsync_directory(final.parent)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file; on failure nothing is left behind."""
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        publish_file(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
