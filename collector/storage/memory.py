"""How the store keeps the collector's resident memory low.

pyarrow allocates through mimalloc by default, which keeps freed pages mapped for reuse: after
a flush's conversion and a compaction have each peaked, the process holds both peaks at once.
The C library's allocator hands large blocks back to the system when they are freed, so the
peaks of the writer and the compactor do not add up. Measured with ``bench/ingest.py``: peak
RSS about 375 MB with mimalloc, about 270 MB with the system allocator, at the same throughput.
"""

from __future__ import annotations

import os

import pyarrow as pa

from otel_feedback_collector.allocator import trim_free_memory

_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def use_system_allocator() -> None:
    """Make pyarrow allocate with the system allocator, unless the user chose another pool
    through ``ARROW_DEFAULT_MEMORY_POOL`` (then that choice stands).

    The package sets the variable to ``system`` when it is first imported (see
    ``otel_feedback_collector/__init__.py``), which also moves Arrow's C++ allocations; this
    call covers pyarrow's own calls when pyarrow was in use before that (then its C++ default
    stays mimalloc)."""
    if os.environ.get(_POOL_VARIABLE, "system") != "system":
        return
    pa.set_memory_pool(pa.system_memory_pool())


def release_free_memory() -> None:
    """Hand memory freed by a large job (a compaction) back to the system now."""
    pa.default_memory_pool().release_unused()
    trim_free_memory()
