"""SQL over the stored traces with plain DuckDB and Polars: no otel-feedback code involved.

The collector's data directory holds ordinary Parquet files (docs/storage.md lists every column).
This script reads them the way any engine would, through ``manifest.json``, which names the live
files (a compaction may be replacing others at any moment). Until compaction, a span that a
retrying exporter sent twice can sit in two files; the collector's own views drop such repeats
(``otel-feedback sql``), plain readers can group by ``trace_id, span_id`` to do the same.

    .venv/bin/python examples/sql_over_parquet.py --data ./otel-feedback-data
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import polars as pl


def live_files(data_dir: Path, dataset: str) -> list[str]:
    """The Parquet files of ``dataset`` ("spans" or "assessments") that the manifest lists."""
    manifest = json.loads((data_dir / "manifest.json").read_text())
    return [str(data_dir / entry["path"]) for entry in manifest["datasets"].get(dataset, [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", default="otel-feedback-data", help="the collector's data directory")
    args = parser.parse_args()
    data_dir = Path(args.data)
    spans = live_files(data_dir, "spans")
    if not spans:
        raise SystemExit(f"no span files in {data_dir} yet: run `otel-feedback demo --no-serve --data {data_dir}`")

    print("DuckDB: spans per type, with their mean duration")
    rows = duckdb.execute(
        "SELECT span_type, count(*) AS spans, round(avg(duration_ms), 2) AS mean_ms "
        "FROM read_parquet(?) GROUP BY span_type ORDER BY spans DESC, span_type",
        [spans],
    ).fetchall()
    for span_type, count, mean_ms in rows:
        print(f"  {span_type:<12} {count:>5}  {mean_ms} ms")

    print("Polars: the slowest root spans (the traces' entry points)")
    roots = (
        pl.scan_parquet(spans)
        .filter(pl.col("parent_span_id").is_null())
        .select("trace_id", "name", "duration_ms")
        .sort("duration_ms", descending=True)
        .head(3)
        .collect()
    )
    for trace_id, name, duration_ms in roots.iter_rows():
        print(f"  {trace_id}  {name}  {duration_ms:.2f} ms")

    assessments = live_files(data_dir, "assessments")
    if assessments:
        print("DuckDB: feedback by name and source type (every logged row, overrides included)")
        for name, source_type, count in duckdb.execute(
            "SELECT name, source_type, count(*) FROM read_parquet(?) GROUP BY ALL ORDER BY ALL", [assessments]
        ).fetchall():
            print(f"  {name:<20} {source_type:<10} {count}")


if __name__ == "__main__":
    main()
