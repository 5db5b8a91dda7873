"""Gzip inflation cost: many members against one member, per MB of body, measured in one run.

Each body is POSTed to ``/v1/traces`` of a real collector on loopback and timed until its
answer, as a sender waits for it. The collector inflates ``Content-Encoding: gzip`` bodies in
:func:`otel_feedback_collector.otlp.body.inflate_bounded`; it used to hand every gzip member the
whole rest of the body, so 6 MB of empty members cost 25 s of CPU. This prints, for bodies of
1, 2 and 6 MB:

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
import tempfile
import time

import httpx

import otel_feedback_collector.otlp.body as body_module
from otel_feedback_collector.server import CollectorServer

LIMIT = 20 * 1024 * 1024


def seconds(client: httpx.Client, url: str, body: bytes, repeat: int) -> float:
    """The best of ``repeat`` timings of one gzip-encoded export, request to answer."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        answer = client.post(
            url, content=body, headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        )
        best = min(best, time.perf_counter() - start)
        assert answer.status_code in (200, 400), answer.text  # random bytes do not decode: 400
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
    with tempfile.TemporaryDirectory() as data_dir, CollectorServer(
        data_dir, port=0, grpc_port=None
    ) as server, httpx.Client(timeout=600) as client:
        url = f"{server.http_url}/v1/traces"
        for megabytes in (1, 2, 6):
            size = megabytes * 1_000_000
            one = gzip.compress(os.urandom(size), compresslevel=1)
            members = empty * (size // len(empty))
            t_one = seconds(client, url, one, args.repeat) / megabytes
            t_members = seconds(client, url, members, args.repeat) / megabytes
            body_module.MAX_GZIP_MEMBERS = 10**9  # the collector runs in this process
            try:
                t_uncapped = seconds(client, url, members, 1) / megabytes
            finally:
                body_module.MAX_GZIP_MEMBERS = cap
            print(
                f"{megabytes:>4} {t_one:>16.4f} {t_members:>19.4f} {t_members / t_one:>6.1f} "
                f"{t_uncapped:>12.4f} {t_uncapped / t_one:>6.0f}"
            )
    print(f"ratio: seconds per MB, request to answer, against one member. Past {cap} members the body is")
    print("refused with 400; before the fix 6 MB of empty members took about 25 s (quadratic).")


if __name__ == "__main__":
    main()
