"""Fixtures shared by the collector tests: collectors on free loopback ports."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage.live_reads import LiveReads
from otel_feedback_collector.storage.manifest import Manifest


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator[Callable[..., CollectorServer]]:
    """Start collectors on free loopback ports (HTTP and gRPC unless ``grpc_port=None``; ``store=``
    to inject one); every one is stopped after the test."""
    started: list[CollectorServer] = []

    def start(**options: Any) -> CollectorServer:
        options.setdefault("port", 0)
        options.setdefault("grpc_port", 0)
        data_dir = options.pop("data_dir", tmp_path / f"data-{len(started)}")
        server = CollectorServer(data_dir, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount small tmpfs file systems (a real full disk, or a real lack of inodes); each is
    unmounted after the test, also when it fails. Needs root, as CI has."""
    mounted: list[Path] = []

    def mount(name: str = "tmpfs", *, size: str = "6m", nr_inodes: int | None = None) -> Path:
        target = tmp_path / name
        target.mkdir()
        options = f"size={size}" + (f",nr_inodes={nr_inodes}" if nr_inodes else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], check=True)
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "--lazy", str(target)], check=False)


class HeldFill:
    """``LiveReads._fill`` (a rebuild's filling of the index tables) held until ``release``
    is set, then done for real: a rebuild in progress for as long as the test needs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self._monkeypatch = monkeypatch

    def hold(self) -> None:
        """Hold every rebuild from now on (set once the directory is filled: a version that
        rebuilds an empty directory's index would be held while filling it)."""
        real = LiveReads._fill

        def held(reads: LiveReads, connection: duckdb.DuckDBPyConnection, manifest: Manifest) -> None:
            self.calls += 1
            self.entered.set()
            if not self.release.wait(timeout=120):
                raise duckdb.IOException("the test never released the rebuild")
            real(reads, connection, manifest)

        self._monkeypatch.setattr(LiveReads, "_fill", held)


@pytest.fixture
def held_fill(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldFill]:
    """Rebuilds of the trace index (in the background, storage/live_reads.py) held once
    ``hold()`` is called; released after the test in any case."""
    held = HeldFill(monkeypatch)
    yield held
    held.release.set()  # a failed test must not leave the rebuild waiting
