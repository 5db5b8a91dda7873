"""Evaluation run ids become folder names (``evaluations/run_id=<id>/``): only safe ones do."""

from __future__ import annotations

import uuid

import pytest

from otel_feedback_core.layout import is_valid_run_id, run_folder_name


def test_generated_run_ids_make_hive_folders() -> None:
    run_id = uuid.uuid4().hex
    assert run_folder_name(run_id) == f"run_id={run_id}"
    assert is_valid_run_id("nightly_2026-11-30")


@pytest.mark.parametrize("run_id", ["", "../manifest.json", "a/b", "a=b", "x.parquet", "%2e%2e", "é", "a" * 129, "a b"])
def test_unsafe_run_ids_are_refused(run_id: str) -> None:
    assert not is_valid_run_id(run_id)
    with pytest.raises(ValueError, match="letters, digits"):
        run_folder_name(run_id)
