"""How close ``evaluate`` gets to the ideal wall time when judge calls dominate.

Evaluates ``--rows`` rows with three LLM-judged scorers (Correctness, RelevanceToQuery,
Safety) against the local OpenAI-compatible server answering every judge request after
``--latency`` seconds, with ``--concurrency`` workers. The ideal wall time is
``rows x scorers x latency / concurrency`` (every worker always waiting on a judge); the ratio
of the measured time to it is the overhead of our run loop, HTTP client, and of the local
server itself (a ThreadingHTTPServer: one thread per kept-alive connection). Also prints how
many requests the server answered, to show it kept up (one per judgement, no retries).

    .venv/bin/python bench/evaluate.py [--rows 1000] [--latency 0.2] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time

from otel_feedback.evaluation import evaluate
from otel_feedback.scorers import Correctness, RelevanceToQuery, Safety
from otel_feedback_testing import LocalOpenAIServer, ModelRequest

GOAL_RATIO = 1.2


_answered = itertools.count()


def _verdict(request: ModelRequest) -> str:
    next(_answered)  # atomic under the GIL: counts the judgements the server answered
    return json.dumps({"result": "yes", "rationale": "bench"})


def main() -> None:
    """Run the benchmark and print the wall time, the ideal and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    rows = [
        {"inputs": {"question": f"Question {i}?"}, "outputs": f"Answer {i}.",
         "expectations": {"expected_response": f"Answer {i}."}}
        for i in range(args.rows)
    ]
    scorers = [Correctness(), RelevanceToQuery(), Safety()]
    with LocalOpenAIServer(responder=_verdict, latency=args.latency) as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        os.environ.setdefault("OPENAI_API_KEY", "unused")
        os.environ.pop("OTEL_FEEDBACK_DATA", None)
        started = time.perf_counter()
        result = evaluate(rows, scorers=scorers, max_workers=args.concurrency)
        wall = time.perf_counter() - started
        answered = next(_answered)

    judgements = args.rows * len(scorers)
    ideal = judgements * args.latency / args.concurrency
    errors = sum(int(v) for k, v in result.metrics.items() if k.endswith("/error_count"))
    print(f"rows={args.rows} scorers={len(scorers)} latency={args.latency}s concurrency={args.concurrency}")
    print(f"judge requests answered: {answered} of {judgements}, error rows: {errors}")
    print(f"wall time: {wall:.2f} s   ideal: {ideal:.2f} s   ratio: {wall / ideal:.3f}x   goal: <= {GOAL_RATIO}x")


if __name__ == "__main__":
    main()
