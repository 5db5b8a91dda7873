"""The ``otel-feedback`` command line.

Each subsystem contributes its own subcommands through a ``register(subparsers)`` function,
so this module stays a thin dispatcher: the collector adds ``serve`` and ``sql``
(``otel_feedback_collector.cli``), later issues add ``demo``, ``users`` and so on.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from otel_feedback import __version__

# Modules that provide ``register(subparsers: argparse._SubParsersAction) -> None``.
# Each registered subparser sets ``func`` (a callable taking the parsed namespace and
# returning an exit code) with ``parser.set_defaults(func=...)``.
_COMMAND_MODULES: tuple[str, ...] = ("otel_feedback_collector.cli", "otel_feedback_collector.users_cli", "otel_feedback_collector.demo.cli", "otel_feedback.evaluation.cli")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="otel-feedback",
        description="Trace GenAI apps with OpenTelemetry and collect human feedback on them.",
    )
    parser.add_argument("--version", action="version", version=f"otel-feedback {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    version = subparsers.add_parser("version", help="print the version and exit")
    version.set_defaults(func=_print_version)
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def _print_version(_args: argparse.Namespace) -> int:
    print(f"otel-feedback {__version__}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    return int(func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
