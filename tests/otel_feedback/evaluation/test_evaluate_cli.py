"""``otel-feedback evaluate`` over a dataset, with a predict function imported by name."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from otel_feedback.evaluation import cli, create_dataset
from otel_feedback_testing import LocalOpenAIServer


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="otel-feedback")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_evaluate_a_dataset_with_a_predict_function_and_a_judge(tmp_path: Path, judge: LocalOpenAIServer,
                                                                monkeypatch: pytest.MonkeyPatch, capsys):
    (tmp_path / "faq_app.py").write_text("def answer(q):\n    return 'Paris is the capital.' if 'France' in q else 'No idea.'\n")
    monkeypatch.chdir(tmp_path)
    create_dataset("faq", data_dir=tmp_path / "data").merge_records([
        {"inputs": {"q": "France?"}, "expectations": {"expected_response": "Paris is the capital."}},
        {"inputs": {"q": "Spain?"}, "expectations": {"expected_response": "Madrid is the capital."}},
    ])

    code = _main(["evaluate", "--data", str(tmp_path / "data"), "--dataset", "faq", "--predict", "faq_app:answer",
                  "--scorer", "correctness", "--scorer", "exact_match", "--judge-model", "openai:/gpt-4o"])

    assert code == 0
    out = capsys.readouterr().out
    metrics = json.loads(out[out.index("{"):])
    assert metrics == {"correctness/pass_rate": 0.5, "correctness/error_count": 0.0,
                       "exact_match/pass_rate": 0.5, "exact_match/error_count": 0.0}
    assert {request.model for request in judge.requests} == {"gpt-4o"}
    assert len(list((tmp_path / "data" / "evaluations").glob("*/run.parquet"))) == 1


def test_unknown_dataset_and_labeling_session_say_what_to_do(tmp_path: Path, capsys):
    assert _main(["evaluate", "--data", str(tmp_path), "--dataset", "missing"]) == 2
    assert "no dataset named 'missing'" in capsys.readouterr().err



def test_labeling_session_source_says_what_is_missing(tmp_path: Path, capsys):
    from otel_feedback_collector.server import CollectorServer
    from otel_feedback import _config

    saved = (_config.settings.endpoint, dict(_config.settings.headers))
    try:
        with CollectorServer(tmp_path / "data", port=0, grpc_port=None) as server:
            code = _main(["evaluate", "--data", str(tmp_path / "data"), "--labeling-session", "s1",
                          "--collector", server.http_url, "--scorer", "exact_match"])
        assert code == 2
        assert f"no labeling session named 's1' at {server.http_url}" in capsys.readouterr().err
        assert _main(["evaluate", "--data", str(tmp_path), "--labeling-session", "s1",
                      "--collector", server.http_url, "--scorer", "exact_match"]) == 2
        assert server.http_url in capsys.readouterr().err  # the stopped collector is named
    finally:
        _config.settings.endpoint, _config.settings.headers = saved[0], saved[1]
