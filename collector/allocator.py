"""Make glibc give large request buffers back to the system when they are freed.

glibc serves allocations over ``M_MMAP_THRESHOLD`` with their own mmap, released on free; but
by default the threshold rises each time such a block is freed (up to 32 MiB), after which
request-sized buffers (bodies, inflated bodies, serialized messages) come from per-thread heaps
that keep the memory. Under a flood of large exports the collector's RSS then grew to several
times what was in use at any moment. Fixing the threshold stops it from rising.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

_logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
LARGE_ALLOCATION_BYTES = 1024 * 1024


def release_large_allocations(threshold: int = LARGE_ALLOCATION_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes (and the trim threshold at twice that);
    False when not on glibc (nothing done)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # The trim threshold rose with the mmap threshold; bring it back too, so freed heap tops return.
    if mallopt(_M_MMAP_THRESHOLD, threshold) != 1 or mallopt(_M_TRIM_THRESHOLD, 2 * threshold) != 1:
        _logger.debug("mallopt(M_MMAP_THRESHOLD) was refused; large buffers may stay in the heap.")
        return False
    return True
