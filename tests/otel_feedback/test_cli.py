"""The otel-feedback console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import otel_feedback
from otel_feedback.cli import main


def test_version_subcommand(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"otel-feedback {otel_feedback.__version__}"


def test_console_script_is_installed():
    script = shutil.which("otel-feedback", path=str(Path(sys.executable).parent))
    assert script is not None, "pip install -e . should have installed the otel-feedback script"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "usage: otel-feedback" in result.stdout


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: otel-feedback" in capsys.readouterr().out
