"""glibc's mmap threshold is fixed so large request buffers go back to the system when freed."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

from otel_feedback_collector.allocator import release_large_allocations


def test_threshold_is_set_on_glibc() -> None:
    done = release_large_allocations()
    assert done is (platform.libc_ver()[0] == "glibc")


def _limit_heaps_in_a_child(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    code = "from otel_feedback_collector.allocator import limit_heaps; print(limit_heaps())"
    result = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


def test_heaps_are_limited_on_glibc() -> None:
    assert _limit_heaps_in_a_child() == str(platform.libc_ver()[0] == "glibc")


def test_a_heap_count_the_user_chose_stands() -> None:
    assert _limit_heaps_in_a_child(MALLOC_ARENA_MAX="4") == "False"
