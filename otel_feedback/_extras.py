"""Parts that need the ``collector`` extra, found by entry point so the SDK never imports them.

``pyproject.toml`` names them in two entry point groups: ``otel_feedback.commands`` (the
subcommands of ``otel-feedback``) and ``otel_feedback.data_files`` (the reader of a data
directory's Parquet files). Loading one in an SDK-only install fails on a module the extra
provides (duckdb, starlette...): :class:`MissingExtra` then says what to install.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

COLLECTOR_EXTRA_HINT = 'pip install "otel-feedback[collector]"'
COMMANDS_GROUP = "otel_feedback.commands"
DATA_FILES_GROUP = "otel_feedback.data_files"
# Modules of our own: a missing one is a broken install, not a missing extra.
_OWN_PACKAGES = frozenset({"otel_feedback", "otel_feedback_core", "otel_feedback_collector", "otel_feedback_testing"})


class MissingExtra(ImportError):
    """A feature needs a package that only the ``collector`` extra installs."""

    def __init__(self, feature: str, missing: str) -> None:
        super().__init__(
            f"{feature} needs the collector, which this install lacks (no module named {missing!r}): "
            f"{COLLECTOR_EXTRA_HINT}",
            name=missing,
        )
        self.missing = missing


def load(entry_point: EntryPoint, *, feature: str) -> Any:
    """The entry point's object; :class:`MissingExtra` when a third-party module is missing."""
    try:
        return entry_point.load()
    except MissingExtra as exc:  # raised by a module it imports: name what was asked for
        raise MissingExtra(feature, exc.missing) from None
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not missing or missing.split(".")[0] in _OWN_PACKAGES:
            raise
        raise MissingExtra(feature, missing) from None


def data_files(feature: str) -> Any:
    """The collector's ``data_files`` module, to read a data directory for ``feature``."""
    found = entry_points(group=DATA_FILES_GROUP, name="parquet")
    if not found:
        raise MissingExtra(feature, "otel_feedback_collector.data_files")
    return load(next(iter(found)), feature=feature)
