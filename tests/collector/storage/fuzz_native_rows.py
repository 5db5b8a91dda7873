"""Feed many mutated OTLP payloads to the native span rows, outside pytest: for a run with the
extension built with AddressSanitizer, for which the tests' few thousand mutations are too few.

    python tests/collector/storage/fuzz_native_rows.py --count 200000 [--seed 1] [--compare]

Each payload is written to ``--current`` (hex) before the call, so the input of a crash is
there afterwards. Every payload the native path takes must be one protobuf accepts; with
``--compare`` its rows are also compared with the Python path's.

Under AddressSanitizer and UBSan: build the module with them and put it in place of the normal
build (``pip install -e .`` puts that back), then run with the sanitizer runtime preloaded:

    gcc -shared -fPIC -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
        -fno-omit-frame-pointer $(python3-config --includes) collector/storage/_otlp_rows.c \
        -o collector/storage/_otlp_rows$(python3-config --extension-suffix)
    LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
        python tests/collector/storage/fuzz_native_rows.py --count 200000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from google.protobuf.message import DecodeError  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)
from payload_mutations import mutations  # noqa: E402
from random_requests import payloads  # noqa: E402

from otel_feedback_collector.storage import _otlp_rows  # noqa: E402

_OTHER_KEY = ("0" * 31 + "1", "0" * 15 + "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-payload", type=int, default=200)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--current", default="/tmp/fuzz-native-rows-current.hex")
    parser.add_argument("--problems", default="/tmp/fuzz-native-rows-problems.txt",
                        help="every problem, with the whole payload in hex, one a line")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    current = os.open(args.current, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    done = taken = raised = 0
    problems: list[str] = []
    started = time.monotonic()
    base_seed = args.seed * 1000
    while done < args.count:
        base_seed += 1
        odd = rng.choice([0.0, 0.0, 0.1, 0.3])
        for base in payloads(base_seed, 4, odd=odd, max_spans=rng.choice([1, 3, 8])):
            for payload in mutations(base, rng, args.per_payload):
                text = payload.hex().encode()
                os.ftruncate(current, 0)
                os.pwrite(current, text, 0)
                seen = {_OTHER_KEY}
                try:
                    result = _otlp_rows.spans(payload, seen)
                except Exception:
                    raised += 1
                    result = None
                done += 1
                if result is None:
                    if seen != {_OTHER_KEY}:
                        problems.append(f"seen changed by a refused payload: {payload.hex()}")
                    continue
                taken += 1
                try:
                    ExportTraceServiceRequest.FromString(payload)
                except DecodeError:
                    problems.append(f"taken, but protobuf refuses it: {payload.hex()}")
                    continue
                if args.compare:
                    from test_native_rows import assert_same_rows

                    try:
                        assert_same_rows(payload, {_OTHER_KEY})
                    except BaseException as error:  # pytest.fail raises an OutcomeException
                        detail = str(error)[:400].replace("\n", " | ")
                        problems.append(f"rows differ: {payload.hex()} ({detail})")
        if done % 20_000 < args.per_payload * 4:
            print(f"{done} payloads, {taken} taken, {raised} raised, {len(problems)} problems, "
                  f"{time.monotonic() - started:.0f} s", flush=True)
    os.close(current)
    print(f"done: {done} payloads, {taken} taken by the native path, {raised} raised, "
          f"{len(problems)} problems")
    Path(args.problems).write_text("".join(problem + "\n" for problem in problems))
    for problem in problems[:20]:
        print(problem[:300])
    if problems:
        print(f"all {len(problems)} in {args.problems}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
