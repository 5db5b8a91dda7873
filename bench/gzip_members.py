"""Gzip inflation cost: many members against one member, per MB of body, measured in one run.

The collector inflates ``Content-Encoding: gzip`` bodies in :func:`otel_feedback_collector.otlp.body.inflate_bounded`.
It used to hand every gzip member the whole rest of the body, so 6 MB of empty members cost
25 s of CPU. This prints, for bodies of 1, 2 and 6 MB:

- ``one member``: one gzip stream of incompressible bytes (the baseline);
- ``empty members``: back-to-back empty members, as a hostile client sends them (refused with 400
  past ``MAX_GZIP_MEMBERS``: the time is what refusing costs);
- ``empty members, no cap``: the same with the member cap lifted, to show the walk itself is
  linear (seconds per MB stays flat as the body grows).

    .venv/bin/python bench/gzip_members.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from collections.abc import Callable

import otel_feedback_collector.otlp.body as body_module
from otel_feedback_collector.otlp.body import inflate_bounded
from otel_feedback_collector.otlp.errors import MalformedRequest

LIMIT = 20 * 1024 * 1024


def seconds(work: Callable[[], object], repeat: int) -> float:
    """The best of ``repeat`` timings of ``work``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            work()
        except MalformedRequest:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    empty = gzip.compress(b"")
    cap = body_module.MAX_GZIP_MEMBERS
    print(
        f"{'MB':>4} {'one member s/MB':>16} {'empty members s/MB':>19} {'ratio':>6} "
        f"{'no cap s/MB':>12} {'ratio':>6}"
    )
    for megabytes in (1, 2, 6):
        size = megabytes * 1_000_000
        one = gzip.compress(os.urandom(size), compresslevel=1)
        members = empty * (size // len(empty))
        t_one = seconds(lambda: inflate_bounded(one, "gzip", limit=LIMIT), args.repeat) / megabytes
        t_members = seconds(lambda: inflate_bounded(members, "gzip", limit=LIMIT), args.repeat) / megabytes
        body_module.MAX_GZIP_MEMBERS = 10**9
        try:
            t_uncapped = seconds(lambda: inflate_bounded(members, "gzip", limit=LIMIT), 1) / megabytes
        finally:
            body_module.MAX_GZIP_MEMBERS = cap
        print(
            f"{megabytes:>4} {t_one:>16.4f} {t_members:>19.4f} {t_members / t_one:>6.1f} "
            f"{t_uncapped:>12.4f} {t_uncapped / t_one:>6.0f}"
        )
    print(f"ratio: seconds per MB against one member. Past {cap} members the body is refused with 400;")
    print("before the fix 6 MB of empty members took about 25 s (quadratic).")


if __name__ == "__main__":
    main()
