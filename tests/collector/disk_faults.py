"""Real disk faults for tests: a file system filled to the last byte, or to the last inode.

Mount one with the ``mount_tmpfs`` fixture (tests/collector/conftest.py).
"""

from __future__ import annotations

from pathlib import Path


def fill_disk(path: Path) -> int:
    """Write ``path`` until the file system is full; return the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as handle:
        chunk = b"\0" * 65536
        while True:
            try:
                written += handle.write(chunk) or 0
            except OSError:
                return written
            if written > 1 << 30:  # bounded: a file system that never fills is a test error
                raise AssertionError(f"{path.parent} did not fill up")


def use_up_inodes(directory: Path, limit: int = 100_000) -> list[Path]:
    """Create empty files in ``directory`` until no inode is left; return them."""
    made: list[Path] = []
    for number in range(limit):
        path = directory / f"inode-{number}"
        try:
            path.touch()
        except OSError:
            return made
        made.append(path)
    raise AssertionError(f"{directory} still had inodes after {limit} files")
