"""The ``otel-feedback`` command line.

This module stays a thin dispatcher: every subcommand beyond ``version`` is an entry point in
the ``otel_feedback.commands`` group (``pyproject.toml``) whose object is a
``register(subparsers)`` function. The collector's commands (``serve``, ``sql``, ``users``,
``demo``) and ``evaluate`` need the ``collector`` extra; loading them by entry point keeps the SDK
free of imports into the collector, and in an SDK-only install each of them exits with one
sentence saying what to install.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points

from otel_feedback._version import __version__
from otel_feedback._extras import COMMANDS_GROUP, MissingExtra, load


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
    for entry_point in sorted(entry_points(group=COMMANDS_GROUP), key=lambda entry: entry.name):
        _register(subparsers, entry_point)
    return parser


def _register(subparsers: argparse._SubParsersAction, entry_point: EntryPoint) -> None:  # type: ignore[type-arg]
    try:
        register = load(entry_point, feature=f"otel-feedback {entry_point.name}")
    except MissingExtra as missing:
        _register_unavailable(subparsers, entry_point.name, str(missing))
        return
    register(subparsers)


def _register_unavailable(subparsers: argparse._SubParsersAction, name: str, message: str) -> None:  # type: ignore[type-arg]
    """A stand-in subcommand that takes any arguments and says which extra to install."""
    # No option prefix, so every argument (``--port 0`` too) is taken as it is and refused once.
    parser = subparsers.add_parser(name, help="(needs the collector extra)", add_help=False, prefix_chars="\0")
    parser.add_argument("arguments", nargs="*")
    parser.set_defaults(func=lambda _args: _refuse(message))


def _refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


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
