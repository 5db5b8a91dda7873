"""Fixtures shared by the collector tests: collectors on free loopback ports."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage import live_reads


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


@pytest.fixture
def held_rebuild(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Rebuilds of the trace index (in the background, storage/live_reads.py) wait until the
    event is set; it is set after the test in any case."""
    release = threading.Event()
    fill = live_reads.LiveReads._fill

    def held(self: Any, connection: Any, manifest: Any) -> None:
        assert release.wait(60), "the test never released the rebuild"
        fill(self, connection, manifest)

    monkeypatch.setattr(live_reads.LiveReads, "_fill", held)
    yield release
    release.set()
