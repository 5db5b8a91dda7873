"""The otel-feedback collector: OTLP receivers, durable Parquet storage with a DuckDB catalog,
the REST API, the web UI and the review app. Start it with ``otel-feedback serve``."""

import os

# Arrow's C++ code (Parquet reading and writing, decompression) allocates from its default
# pool, which Arrow picks once, from this variable, when pyarrow is first used: mimalloc unless
# it is set. mimalloc keeps freed memory for reuse, and ``pa.set_memory_pool`` cannot change
# that choice later. Measured: compacting 30 span files left the process 100 MB larger with
# mimalloc, 8 MB with the system allocator. This package is imported before any of its modules
# imports pyarrow, so setting it here takes effect; a choice of the user's stands.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
