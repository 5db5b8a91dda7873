"""``otel-feedback sql``: run one SQL query over a data directory's views and print the result.

Works whether or not a collector is running on the directory: it reads the manifest and the
Parquet files only. ``--data`` defaults to ``$OTEL_FEEDBACK_DATA`` or ``./otel-feedback-data``.
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

from collector.storage import connect

DEFAULT_DATA_DIR = "./otel-feedback-data"
DATA_DIR_ENV = "OTEL_FEEDBACK_DATA"
FORMATS = ("table", "csv", "json")
_MAX_CELL_WIDTH = 60


def register_sql_command(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sql`` subcommand to the ``otel-feedback`` parser."""
    parser = subparsers.add_parser(
        "sql",
        help="run a SQL query over the spans, traces, assessments and assessment_log views",
        description=(
            "Run one SQL query (DuckDB dialect) over the views spans, traces, assessments and "
            "assessment_log of a data directory, and print the result."
        ),
    )
    parser.add_argument("query", help='the query, e.g. "SELECT * FROM traces LIMIT 10"')
    parser.add_argument(
        "--data",
        default=os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR),
        help=f"data directory (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR})",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.set_defaults(func=run_sql_command)


def run_sql_command(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run the query in ``args`` and print it; returns the exit code (1 on a SQL error)."""
    stream = sys.stdout if out is None else out
    try:
        connection = connect(args.data)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        result = connection.execute(args.query)
        columns = [d[0] for d in result.description] if result.description else []
        rows = result.fetchall() if columns else []
    except duckdb.Error as error:
        print(f"error: the query failed: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    write_result(columns, rows, output_format=args.format, out=stream)
    return 0


def write_result(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, output_format: str, out: TextIO
) -> None:
    """Print rows as an aligned text table, CSV (with header) or a JSON array of objects."""
    if output_format == "json":
        records = [dict(zip(columns, (_json_value(v) for v in row))) for row in rows]
        json.dump(records, out, ensure_ascii=False, indent=1)
        out.write("\n")
    elif output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else _text(v) for v in row])
    elif output_format == "table":
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


def _cell(value: Any) -> str:
    text = "NULL" if value is None else _text(value).replace("\n", "\\n")
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
