"""``otel-feedback sql``: run one SQL query over a data directory's views and print the result.

Works whether or not a collector is running on the directory: it reads the manifest and the
Parquet files only. ``--data`` defaults to ``$OTEL_FEEDBACK_DATA`` or ``./otel-feedback-data``;
given several times, the views read all those directories as one (storage/several_dirs.py:
rows de-duplicated on their key, a trace split across directories combined exactly).

The query is untrusted text: it must be one SELECT, and it runs in a connection that can read
the views' files and nothing else (collector/query/sandbox.py). Its output is untrusted too:
span values may hold terminal escape sequences or spreadsheet formulas, so table output shows
control characters as visible escapes and CSV output defuses formula cells (cell_safety.py).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import decimal
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import duckdb

from otel_feedback_collector.cell_safety import defuse_formula, escape_controls, escape_json_controls
from otel_feedback_collector.query import check_single_select, connect_for_user_sql
from otel_feedback_collector.storage.manifest import read_manifest
from otel_feedback_collector.storage.readable_files import unreadable_files
from otel_feedback_collector.storage.several_dirs import data_directories
from otel_feedback_core.layout import DATA_DIR_ENV, DEFAULT_DATA_DIR

FORMATS = ("table", "csv", "json")
_MAX_CELL_WIDTH = 60


def register_sql_command(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sql`` subcommand to the ``otel-feedback`` parser."""
    parser = subparsers.add_parser(
        "sql",
        help="run a SQL query over the spans, traces, assessments and assessment_log views",
        description=(
            "Run one SQL query (DuckDB dialect) over the views spans, traces, assessments and "
            "assessment_log of a data directory, and print the result. The query must be one "
            "SELECT (or WITH ... SELECT) statement; it can read those views and no other file. "
            "Control characters in table output are shown as escapes (\\x1b, \\r); CSV cells "
            "that a spreadsheet would run as a formula (starting with = + - @, tab or CR) get a "
            "leading ' unless --raw-csv is given."
        ),
    )
    parser.add_argument("query", help='the query, e.g. "SELECT * FROM traces LIMIT 10"')
    parser.add_argument(
        "--data",
        action="append",
        metavar="DIR",
        help=f"data directory (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR}); repeat it to query "
        "several collectors' directories as one (rows are de-duplicated on their key across them)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument(
        "--raw-csv",
        action="store_true",
        help=(
            "with --format csv, write text cells exactly as stored; by default a cell starting "
            "with = + - @, tab or CR gets a leading ' so spreadsheets do not run it as a formula"
        ),
    )
    parser.set_defaults(func=run_sql_command)


def run_sql_command(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run the query in ``args`` and print it; returns the exit code (1 on a SQL error)."""
    stream = sys.stdout if out is None else out
    try:
        directories = data_directories(data_dirs_of(args))
        for directory in directories:
            for path, reason in unreadable_files(directory, read_manifest(directory)):
                where = path if len(directories) == 1 else directory / path
                print(f"warning: {where} is left out of the views: {reason}.", file=sys.stderr)
        connection = connect_for_user_sql(directories)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        check_single_select(connection, args.query)
        result = connection.execute(args.query)
        columns = [d[0] for d in result.description] if result.description else []
        rows = result.fetchall() if columns else []
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except duckdb.Error as error:
        print(f"error: the query failed: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    write_result(
        columns, rows, output_format=args.format, out=stream, raw_csv=getattr(args, "raw_csv", False)
    )
    return 0


def data_dirs_of(args: argparse.Namespace) -> list[str]:
    """The ``--data`` directories given (``--data`` repeats), else the default one."""
    given = args.data if isinstance(args.data, list) else [args.data] if args.data else []
    return given or [os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR)]


def write_result(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    output_format: str,
    out: TextIO,
    raw_csv: bool = False,
) -> None:
    """Print rows as an aligned text table, CSV (with header) or a JSON array of objects.

    Table cells show control characters as escapes; CSV text cells are defused against
    spreadsheet formulas unless ``raw_csv`` (numbers are left alone: -5 is not a formula)."""
    if output_format == "json":
        records = [dict(zip(columns, (_json_value(v) for v in row))) for row in rows]
        out.write(escape_json_controls(json.dumps(records, ensure_ascii=False, indent=1)))
        out.write("\n")
    elif output_format == "csv":
        # RFC 4180 line ends: Python's csv quotes a field holding any character of the line
        # terminator, so with "\r\n" a stray CR inside a value is quoted instead of ending the row.
        writer = csv.writer(out, lineterminator="\r\n")
        keep = (lambda text: text) if raw_csv else defuse_formula
        writer.writerow([keep(name) for name in columns])
        for row in rows:
            writer.writerow([_csv_cell(v, keep) for v in row])
    elif output_format == "table":
        columns = [escape_controls(name) for name in columns]
        cells = [[_cell(v) for v in row] for row in rows]
        widths = [
            max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)
        ]
        out.write(" | ".join(n.ljust(w) for n, w in zip(columns, widths)).rstrip() + "\n")
        out.write("-+-".join("-" * w for w in widths) + "\n")
        for row in cells:
            out.write(" | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
        out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")
    else:
        raise ValueError(f"Unknown output format {output_format!r}; use one of {FORMATS}.")


def _text(value: Any) -> str:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return str(value)


def _csv_cell(value: Any, keep: Any) -> str:
    if value is None:
        return ""
    return keep(value) if isinstance(value, str) else _text(value)


def _cell(value: Any) -> str:
    text = "NULL" if value is None else escape_controls(_text(value))
    return text if len(text) <= _MAX_CELL_WIDTH else text[: _MAX_CELL_WIDTH - 1] + "…"


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value
