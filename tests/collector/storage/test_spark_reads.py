"""Spark (local mode, pyspark from PyPI) reads a real data directory the way docs/storage.md and
docs/evaluation.md say, with the same rows as DuckDB.

The data directory is the demo's (`otel-feedback demo --no-serve`: real collector, real SDK,
OpenAI instrumentation against the stand-in model, feedback, expert labels, an evaluation run),
plus two more evaluation runs with other scorers. Each dataset folder also gets what may sit in
it at any moment besides live files: a hidden file being written and a ``_retired/`` copy of a
live file; Spark must read neither. Every JSON path the docs show is run in DuckDB, Spark and
Polars on the same files and must give the same, non-empty values.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from otel_feedback import Feedback
from otel_feedback.evaluation import evaluate
from otel_feedback.scorers import ExactMatch, scorer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_demo import run_demo  # noqa: E402

_DOCS = Path(__file__).resolve().parents[3] / "docs"
_DATASETS = ("spans", "assessments", "trace_summaries")
# Which files hold each JSON column the docs query.
_JSON_SOURCES = {
    "attributes": "spans/*.parquet",
    "resource_attributes": "spans/*.parquet",
    "metadata": "assessments/*.parquet",
    "metrics": "evaluations/run_id=*/run.parquet",
}


@scorer
def answer_length(outputs: Any) -> Feedback:
    """A number per row."""
    return Feedback(name="answer_length", value=float(len(str(outputs))), rationale="characters")


@scorer
def concise(outputs: Any) -> bool:
    """A boolean per row."""
    return len(str(outputs).split()) < 100


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's data directory, two more evaluation runs, and the extra files of a busy folder."""
    data = tmp_path_factory.mktemp("spark") / "demo-data"
    result = run_demo(data)
    assert result.returncode == 0, result.stderr
    evaluate(data=data, scorers=[ExactMatch()], data_dir=data, run_name="exact")
    evaluate(data=data, scorers=[answer_length, concise], data_dir=data, run_name="length")
    for dataset in _DATASETS:
        folder = data / dataset
        live = sorted(folder.glob("*.parquet"))
        (folder / f".{dataset}-L0-99999999.parquet.tmp").write_bytes(b"PAR1 half written")
        (folder / "_retired").mkdir(exist_ok=True)
        shutil.copy(live[0], folder / "_retired" / f"copy-{live[0].name}")
    return data


def _duckdb(sql: str) -> list[tuple]:
    connection = duckdb.connect()
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def _glob(data_dir: Path, dataset: str) -> str:
    return f"read_parquet('{data_dir}/{dataset}/*.parquet')"


def test_spark_reads_each_dataset_folder_with_signed_types_and_exact_counts(spark: Any, data_dir: Path) -> None:
    from pyspark.sql.types import DecimalType, LongType, TimestampType

    spans = spark.read.parquet(str(data_dir / "spans"))
    assessments = spark.read.parquet(str(data_dir / "assessments"))
    summaries = spark.read.parquet(str(data_dir / "trace_summaries"))
    for frame in (spans, assessments, summaries):
        assert not [f.name for f in frame.schema.fields if isinstance(f.dataType, DecimalType)]
    types = {f.name: f.dataType for f in summaries.schema.fields}
    assert isinstance(types["span_bits_low"], LongType) and isinstance(types["name_key"], LongType)
    assert isinstance(types["start_time"], TimestampType)
    assert isinstance({f.name: f.dataType for f in spans.schema.fields}["start_time"], TimestampType)

    # The demo: four questions and the labeled one re-run by its evaluation, three spans each,
    # and the evaluation's own root span around the re-run.
    [(span_count,)] = _duckdb(f"SELECT count(*) FROM {_glob(data_dir, 'spans')}")
    assert span_count == 16
    assert spans.count() == span_count
    assert spans.select("trace_id").distinct().count() == 5
    assert spans.where("span_type = 'CHAT_MODEL'").count() == 5
    [(log_rows,)] = _duckdb(f"SELECT count(*) FROM {_glob(data_dir, 'assessments')}")
    assert assessments.count() == log_rows
    assert assessments.where("name = 'user_feedback'").count() == 1
    # Partial summaries of disjoint span sets: their counts add up to the spans.
    assert summaries.selectExpr("sum(span_count)").first()[0] == span_count
    assert summaries.select("trace_id").distinct().count() == 5
    assert summaries.where("start_time IS NULL OR end_time < start_time").count() == 0


def test_spark_joins_spans_with_assessments_like_duckdb(spark: Any, data_dir: Path) -> None:
    spark.read.parquet(str(data_dir / "spans")).createOrReplaceTempView("spans")
    spark.read.parquet(str(data_dir / "assessments")).createOrReplaceTempView("assessment_log")
    join = """
        SELECT a.name, count(*) AS n FROM spans AS s JOIN assessment_log AS a ON a.trace_id = s.trace_id
        WHERE s.parent_span_id IS NULL GROUP BY a.name ORDER BY a.name
    """
    in_spark = [tuple(row) for row in spark.sql(join).collect()]
    in_duckdb = _duckdb(
        join.replace("FROM spans", f"FROM {_glob(data_dir, 'spans')}").replace(
            "JOIN assessment_log", f"JOIN {_glob(data_dir, 'assessments')}"
        )
    )
    assert in_spark == in_duckdb
    counts = dict(in_spark)
    # The thumbs-down, the developer's score, the expert's two labels, the judge's verdict.
    assert (counts["user_feedback"], counts["accuracy_score"], counts["correctness"]) == (1, 1, 1)
    assert (counts["expected_response"], counts["response_accuracy"]) == (1, 1)
    # The documented query (docs/storage.md, Spark).
    documented = spark.sql("""
        SELECT s.trace_id, s.name, a.value, get_json_object(s.attributes, "$['gen_ai.request.model']") AS model
        FROM spans AS s JOIN assessment_log AS a ON a.trace_id = s.trace_id
        WHERE a.name = 'user_feedback' AND s.span_type = 'CHAT_MODEL'
    """).collect()
    assert [(row["value"], row["model"] is not None) for row in documented] == [("false", True)]


def test_spark_reads_every_evaluation_run_as_one_table_per_file_kind(spark: Any, data_dir: Path) -> None:
    base = str(data_dir / "evaluations")

    def kind(name: str) -> Any:
        # run_id stays text even when an id looks like a number (as docs/evaluation.md says).
        spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        try:
            return spark.read.option("basePath", base).parquet(f"{base}/run_id=*/{name}.parquet")
        finally:
            spark.conf.unset("spark.sql.sources.partitionColumnTypeInference.enabled")

    runs = {row["run_name"] or "demo": row["run_id"] for row in kind("run").collect()}
    assert set(runs) == {"demo", "exact", "length"}
    scores = Counter(
        (row["run_id"], row["name"]) for row in kind("scores").select("run_id", "name").collect()
    )
    assert scores == {
        (runs["demo"], "correctness"): 1,
        (runs["exact"], "exact_match"): 5,
        (runs["length"], "answer_length"): 5,
        (runs["length"], "concise"): 5,
    }
    assert Counter(row["run_id"] for row in kind("rows").collect()) == {runs["demo"]: 1, runs["exact"]: 5, runs["length"]: 5}
    # The same table in DuckDB, from the folder names.
    in_duckdb = _duckdb(
        f"SELECT run_id, name, count(*) FROM read_parquet('{base}/run_id=*/scores.parquet', "
        "hive_types = {'run_id': VARCHAR}) GROUP BY ALL"
    )
    assert Counter({(run, name): n for run, name, n in in_duckdb}) == scores
    numbers = kind("scores").where("name = 'answer_length'").selectExpr("min(score_value) > 0").first()[0]
    assert numbers is True


def _documented_paths() -> dict[str, list[tuple[str, str]]]:
    """Per engine, the (column, path) pairs docs/storage.md and docs/evaluation.md show."""
    text = (_DOCS / "storage.md").read_text() + (_DOCS / "evaluation.md").read_text()
    return {
        "duckdb": re.findall(r"(\w+)->>'(\$[^']+)'", text),
        "spark": re.findall(r'get_json_object\((?:\w+\.)?(\w+), \\?"(\$[^"\\]+)\\?"\)', text),
        "polars": re.findall(r'pl\.col\("(\w+)"\)\.str\.json_path_match\("(\$[^"]+)"\)', text),
    }


def _keys(path: str) -> tuple[str, ...]:
    """The keys a documented path names, whatever the engine's quoting (``$."k"``, ``$['k']``)."""
    return tuple(a or b for a, b in re.findall(r"""\."([^"]+)"|\['([^']+)'\]""", path))


def test_every_documented_json_path_gives_the_same_values_in_duckdb_spark_and_polars(spark: Any, data_dir: Path) -> None:
    paths = _documented_paths()
    wanted = {(column, _keys(path)) for column, path in paths["duckdb"]}
    # Every key the docs read in DuckDB is also shown for Spark and Polars, and the other way.
    for engine in ("spark", "polars"):
        assert {(column, _keys(path)) for column, path in paths[engine]} == wanted, engine
    assert len(wanted) >= 4

    def values(engine: str, column: str, path: str) -> list[str]:
        glob = str(data_dir / _JSON_SOURCES[column])
        if engine == "duckdb":
            found = [row[0] for row in _duckdb(f"SELECT {column}->>'{path}' FROM read_parquet('{glob}')")]
        elif engine == "spark":
            frame = spark.read.option("basePath", str(data_dir / "evaluations")).parquet(glob) \
                if column == "metrics" else spark.read.parquet(glob)
            found = [row[0] for row in frame.selectExpr(f'get_json_object({column}, "{path}")').collect()]
        else:
            found = pl.read_parquet(glob).select(pl.col(column).str.json_path_match(path)).to_series().to_list()
        return sorted(value for value in found if value is not None)

    for engine, documented in paths.items():
        for column, path in documented:
            got = values(engine, column, path)
            reference = values("duckdb", column, next(p for c, p in paths["duckdb"] if (c, _keys(p)) == (column, _keys(path))))
            assert got, f"{engine} {column} {path} found nothing"
            assert got == reference, (engine, column, path)
    # The trap the docs warn of: Spark answers NULL, not an error, for DuckDB's quoting.
    spans = spark.read.parquet(str(data_dir / "spans"))
    assert spans.selectExpr("""count(get_json_object(attributes, '$."gen_ai.request.model"'))""").first()[0] == 0
