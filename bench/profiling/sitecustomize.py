"""Profile every thread of a Python process with cProfile when ``OTEL_FEEDBACK_PROFILE`` is set.

Put this folder on ``PYTHONPATH`` (``bench/ingest_1m.py`` does when the variable is set): each
thread gets its own profiler, and at exit one pstats file per thread name is written as
``$OTEL_FEEDBACK_PROFILE.<thread name>.pstats`` (worker threads of one kind are combined).
Read them with ``python -m pstats FILE`` or ``pstats.Stats(FILE).sort_stats("cumtime")``.
Times are each thread's CPU time (``time.thread_time``), so waiting for the GIL, a lock or a
socket costs nothing: the figures say where the CPU goes, however loaded the machine is.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import pstats
import re
import threading
import time

_TARGET = os.environ.get("OTEL_FEEDBACK_PROFILE")


def _install(target: str) -> None:
    profilers: list[tuple[str, cProfile.Profile]] = []
    lock = threading.Lock()
    # Wrapping the bootstrap, not ``run``: thread classes that override ``run`` (AnyIO's
    # workers) are profiled too.
    original_bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def profiled_bootstrap(self: threading.Thread) -> None:
        profiler = cProfile.Profile(time.thread_time)
        with lock:
            profilers.append((self.name, profiler))
        profiler.enable()
        try:
            original_bootstrap(self)
        finally:
            profiler.disable()

    threading.Thread._bootstrap_inner = profiled_bootstrap  # type: ignore[attr-defined]
    main = cProfile.Profile(time.thread_time)
    profilers.append(("main", main))
    main.enable()

    def dump() -> None:
        main.disable()
        groups: dict[str, pstats.Stats] = {}
        with lock:
            found = list(profilers)
        for name, profiler in found:
            kind = re.sub(r"[^A-Za-z]+", "-", re.sub(r"[-_ ]?\d+", "", name)).strip("-") or "thread"
            try:
                stats = pstats.Stats(profiler)
            except TypeError:  # a thread that never ran any profiled code
                continue
            if kind in groups:
                groups[kind].add(stats)
            else:
                groups[kind] = stats
        for kind, stats in groups.items():
            stats.dump_stats(f"{target}.{kind}.pstats")

    atexit.register(dump)


if _TARGET:
    _install(_TARGET)
