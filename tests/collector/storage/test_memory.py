"""Arrow allocates with the system allocator in a collector process (mimalloc kept freed
memory: compactions left the collector 100 MB larger), unless the user chose a pool."""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = (
    "import otel_feedback_collector, pyarrow as pa\n"
    "import pyarrow.parquet as pq, io\n"
    # Parquet writing allocates from Arrow's C++ default pool, which the variable chooses.
    "pq.write_table(pa.table({'a': ['x' * 1000] * 1000}), io.BytesIO())\n"
    "print(pa.default_memory_pool().backend_name, pa.mimalloc_memory_pool().max_memory())\n"
)


def _probe(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], env={**clean, **env}, capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout.split()


def test_importing_the_collector_makes_arrow_use_the_system_allocator() -> None:
    backend, mimalloc_peak = _probe()
    assert backend == "system"
    assert mimalloc_peak == "0"  # nothing, not even Parquet's own buffers, went to mimalloc


def test_a_pool_the_user_chose_stands() -> None:
    backend, _ = _probe(ARROW_DEFAULT_MEMORY_POOL="mimalloc")
    assert backend == "mimalloc"
