"""``otel-feedback evaluate``: judge a dataset or stored traces with built-in scorers.

    otel-feedback evaluate --data ./otel-feedback-data --dataset faq --predict myapp:my_chatbot \\
        --scorer correctness --scorer safety --judge-model openai:/gpt-4o-mini

Without ``--dataset`` the stored traces are judged as they are (their responses, with their
expectations), optionally narrowed with ``--filter`` (the search_traces language). The run is
written under ``<data>/evaluations/`` and its metrics printed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from otel_feedback_core.layout import DATA_DIR_ENV as DATA_ENV
from otel_feedback_core.layout import DEFAULT_DATA_DIR as DEFAULT_DATA
from otel_feedback.evaluation._scorer import Scorer



def _builtin_scorers() -> dict[str, Callable[..., Scorer]]:
    from otel_feedback import scorers

    return {
        "correctness": scorers.Correctness,
        "relevance_to_query": scorers.RelevanceToQuery,
        "safety": scorers.Safety,
        "expectations_guidelines": scorers.ExpectationsGuidelines,
        "retrieval_groundedness": scorers.RetrievalGroundedness,
        "retrieval_relevance": scorers.RetrievalRelevance,
        "retrieval_sufficiency": scorers.RetrievalSufficiency,
        "exact_match": scorers.ExactMatch,
        "expected_facts_coverage": scorers.ExpectedFactsCoverage,
    }


_JUDGED = {"correctness", "relevance_to_query", "safety", "expectations_guidelines", "retrieval_groundedness",
           "retrieval_relevance", "retrieval_sufficiency"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` to the ``otel-feedback`` command line."""
    parser = subparsers.add_parser(
        "evaluate",
        help="judge a dataset or stored traces with built-in scorers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", action="append", metavar="DIR",
                        help=f"the data directory (default ${DATA_ENV} or {DEFAULT_DATA}); repeat it to read several "
                             "collectors' directories as one (the run is written under the first)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", help="evaluate this evaluation dataset (latest version unless --version)")
    source.add_argument("--labeling-session", metavar="NAME",
                        help="evaluate the traces of the labeling session NAME (asks the collector at --collector)")
    source.add_argument("--filter", help="evaluate the stored traces matching this search_traces filter")
    parser.add_argument("--version", type=int, help="the dataset version (default: the latest)")
    parser.add_argument("--predict", metavar="MODULE:FUNCTION",
                        help="re-run the app: import FUNCTION from MODULE and call it with each row's inputs")
    parser.add_argument("--scorer", action="append", dest="scorers", choices=sorted(_builtin_scorers()),
                        help="a built-in scorer (repeat for several; default: correctness)")
    parser.add_argument("--guidelines", action="append", help="add a Guidelines scorer with this guideline (repeatable)")
    parser.add_argument("--judge-model", help="the judge, e.g. openai:/gpt-4o-mini (default $OTEL_FEEDBACK_JUDGE_MODEL)")
    parser.add_argument("--max-workers", type=int, help="rows evaluated at once (default 8)")
    parser.add_argument("--run-name", help="a name for the run")
    parser.add_argument("--collector", default="http://127.0.0.1:4318",
                        help="the collector holding labeling sessions (with --labeling-session); scores are "
                             "also sent there as feedback")
    parser.add_argument("--max-results", type=int, default=10_000, help="at most this many traces (with --filter or alone)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the evaluation the arguments describe; print the run id and metrics."""
    from otel_feedback.evaluation import evaluate, get_dataset

    from otel_feedback import CollectorError

    data_dirs = args.data or [os.environ.get(DATA_ENV) or DEFAULT_DATA]
    data_dir: Any = data_dirs[0] if len(data_dirs) == 1 else data_dirs
    try:
        scorers = _scorers(args)
        predict_fn = _import_function(args.predict) if args.predict else None
        if args.labeling_session:
            data = _labeling_session_traces(args)
        elif args.dataset:
            data: Any = get_dataset(args.dataset, version=args.version, data_dir=data_dirs[0])
        else:
            from otel_feedback import search_traces

            data = search_traces(data_dir=data_dir, filter=args.filter, max_results=args.max_results,
                                 order_by="start_time ASC")
        result = evaluate(data, predict_fn=predict_fn, scorers=scorers, max_workers=args.max_workers,
                          run_name=args.run_name, data_dir=data_dir)
    except (ValueError, LookupError, FileNotFoundError, ImportError, CollectorError) as exc:
        print(f"otel-feedback evaluate: {exc}", file=sys.stderr)
        return 2
    if args.labeling_session:
        import otel_feedback

        otel_feedback.flush()
    print(f"run {result.run_id}: {result.rows.num_rows} rows, written to {result.path}")
    print(json.dumps(result.metrics, indent=2))
    return 0


def _labeling_session_traces(args: argparse.Namespace) -> Any:
    """The traces of the newest labeling session called ``args.labeling_session``, with labels."""
    import otel_feedback
    from otel_feedback.labeling import get_labeling_sessions

    otel_feedback.configure(args.collector)  # the session lives in the collector's catalog
    sessions = get_labeling_sessions(name=args.labeling_session)
    if not sessions:
        raise LookupError(f"there is no labeling session named {args.labeling_session!r} at {args.collector}")
    return otel_feedback.search_traces(labeling_session=sessions[-1], max_results=min(args.max_results, 1000))


def _scorers(args: argparse.Namespace) -> list[Scorer]:
    from otel_feedback.scorers import Guidelines

    available = _builtin_scorers()
    chosen: list[Scorer] = []
    for name in args.scorers or ([] if args.guidelines else ["correctness"]):
        factory = available[name]
        chosen.append(factory(model=args.judge_model) if name in _JUDGED else factory())
    if args.guidelines:
        chosen.append(Guidelines(guidelines=args.guidelines, model=args.judge_model))
    return chosen


def _import_function(spec: str) -> Callable[..., Any]:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--predict must be MODULE:FUNCTION (e.g. myapp.bot:my_chatbot); got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # let `--predict myapp:fn` find the app in the current directory
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"--predict {spec} is not callable")
    return target
