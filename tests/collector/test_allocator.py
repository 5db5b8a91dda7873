"""glibc's mmap threshold is fixed so large request buffers go back to the system when freed."""

from __future__ import annotations

import platform

from otel_feedback_collector.allocator import release_large_allocations


def test_threshold_is_set_on_glibc() -> None:
    done = release_large_allocations()
    assert done is (platform.libc_ver()[0] == "glibc")
