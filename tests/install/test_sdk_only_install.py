"""Done means (issue 13): the SDK installs alone, as a user installs it, and does its job.

One fresh virtualenv per test session gets ``pip install <a copy of the repository>``
(non-editable; the build writes ``build/`` and ``*.egg-info`` into the copy, never into the
tree). Then:

* none of the server packages is installed, and its site-packages (without pip/setuptools)
  stays within 45 MB;
* with the ``openai`` extra added, a traced app (``@trace``, the OpenAI instrumentor, the real
  openai client against the local stand-in model server) sends its spans and a ``log_feedback``
  to a collector installed with the ``collector`` extra (this test environment's), and reads
  them back with ``search_traces(return_type="list")`` over the REST API;
* the table form and the collector's commands say which extra to install.

Slow (a pip install from the package index or pip's cache, about a minute): bounded by
timeouts, one venv for the whole session.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from otel_feedback_collector.server import CollectorProcess
from otel_feedback_testing import LocalOpenAIServer

REPO = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = ("duckdb", "pyarrow", "numpy", "pandas", "polars", "starlette", "uvicorn", "jinja2", "grpcio")
MAX_SDK_MEGABYTES = 45
_INSTALLER_PACKAGES = ("pip", "setuptools", "pkg_resources", "_distutils_hack")
_COPY_IGNORED = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.egg-info", "build", "dist", "otel-feedback-data", ".pytest_cache"
)

APP = r'''
import json, sys, time
import openai
import otel_feedback
from otel_feedback import AssessmentSource, log_feedback, trace
from otel_feedback.openai import OpenAIInstrumentor

collector_url, model_url = sys.argv[1], sys.argv[2]
otel_feedback.configure(collector_url, service_name="sdk-only-app", experiment="sdk-only")
OpenAIInstrumentor().instrument()
client = openai.OpenAI(base_url=model_url, api_key="stand-in")


@trace
def chatbot(question):
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content


answer = chatbot("What is MLflow?")
trace_id = otel_feedback.get_last_active_trace_id()
log_feedback(trace_id=trace_id, name="user_feedback", value=False, rationale="too vague",
             source=AssessmentSource(source_type="HUMAN", source_id="enduser_123"))
otel_feedback.flush()
rows = []
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    rows = otel_feedback.search_traces(experiment="sdk-only", return_type="list")
    if rows and rows[0].get("assessments.user_feedback") is not None:
        break
    time.sleep(0.2)
try:
    otel_feedback.search_traces(experiment="sdk-only")
    table_error = None
except ImportError as error:
    table_error = str(error)
print(json.dumps({"trace_id": trace_id, "answer": answer, "rows": rows, "table_error": table_error}, default=str))
'''


@dataclass
class FreshVenv:
    python: Path
    site_packages: Path
    source: Path  # the repository copy it was installed from
    # Measured right after `pip install <source>`, before any extra is added.
    sdk_packages: frozenset[str] = frozenset()
    sdk_megabytes: float = 0.0

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.python), *args], capture_output=True, text=True, timeout=timeout)

    def pip_install(self, requirement: str) -> None:
        result = self.run("-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement, timeout=900)
        assert result.returncode == 0, f"pip install {requirement} failed:\n{result.stdout}\n{result.stderr}"

    def installed(self) -> set[str]:
        result = self.run("-m", "pip", "list", "--format=json", "--disable-pip-version-check")
        assert result.returncode == 0, result.stderr
        return {entry["name"].lower().replace("_", "-") for entry in json.loads(result.stdout)}

    def megabytes_without_installers(self) -> float:
        total = 0
        for path in self.site_packages.rglob("*"):
            top = path.relative_to(self.site_packages).parts[0]
            if top.split("-")[0] in _INSTALLER_PACKAGES or top.split(".")[0] in _INSTALLER_PACKAGES:
                continue
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        return total / 1_000_000


@pytest.fixture(scope="module")
def sdk_venv(tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    """A fresh virtualenv with ``pip install <repository copy>`` (the SDK alone), once per session."""
    root = tmp_path_factory.mktemp("sdk-only")
    source = root / "otel-feedback"
    shutil.copytree(REPO, source, ignore=_COPY_IGNORED)
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    fresh = FreshVenv(python=python, site_packages=Path(site), source=source)
    fresh.pip_install(str(source))
    fresh.sdk_packages = frozenset(fresh.installed())
    fresh.sdk_megabytes = fresh.megabytes_without_installers()
    return fresh


def test_the_sdk_alone_installs_no_server_package_and_stays_small(sdk_venv: FreshVenv) -> None:
    installed = sdk_venv.sdk_packages
    assert "otel-feedback" in installed
    assert not installed & set(SERVER_PACKAGES), f"the SDK install pulled in {sorted(installed & set(SERVER_PACKAGES))}"
    size = sdk_venv.sdk_megabytes
    print(f"SDK-only site-packages without pip/setuptools: {size:.1f} MB")
    assert size <= MAX_SDK_MEGABYTES, f"the SDK alone takes {size:.1f} MB (limit {MAX_SDK_MEGABYTES})"


def test_the_collectors_commands_name_the_extra_in_an_sdk_only_install(sdk_venv: FreshVenv) -> None:
    cli = sdk_venv.python.parent / "otel-feedback"
    for command in (["serve", "--port", "0"], ["sql", "select 1"], ["users", "list"], ["demo", "--no-serve"]):
        result = subprocess.run([str(cli), *command], capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, (command, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (command, result.stderr)
        assert 'pip install "otel-feedback[collector]"' in lines[0] and command[0] in lines[0], (command, lines)
    version = subprocess.run([str(cli), "version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("otel-feedback ")


def test_chat_app_serves_a_function_in_an_sdk_only_install(sdk_venv: FreshVenv, tmp_path: Path) -> None:
    (tmp_path / "shouty.py").write_text("def answer(question):\n    return question.upper()\n", encoding="utf-8")
    cli = sdk_venv.python.parent / "otel-feedback"
    env = {"PATH": str(sdk_venv.python.parent), "OTEL_SDK_DISABLED": "true"}
    process = subprocess.Popen([str(cli), "chat-app", "shouty:answer", "--port", "0"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the announcement, or EOF if it failed to start
        assert "/v1" in line, process.stderr.read() if process.stderr else line
        base_url = line.rsplit(" ", 1)[1].strip()
        body = json.dumps({"model": "answer", "messages": [{"role": "user", "content": "hi"}]}).encode()
        request = urllib.request.Request(f"{base_url}/chat/completions", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["choices"][0]["message"]["content"] == "HI"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_reading_files_in_an_sdk_only_install_names_the_extra(sdk_venv: FreshVenv, tmp_path: Path) -> None:
    code = (
        "import otel_feedback\n"
        "for read in (lambda: otel_feedback.search_traces(data_dir=%r, return_type='list'),\n"
        "             lambda: otel_feedback.evaluate):\n"
        "    try:\n"
        "        read()\n"
        "    except ImportError as error:\n"
        "        print(error)\n"
    ) % str(tmp_path)
    result = sdk_venv.run("-c", code)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert 'pip install "otel-feedback[collector]"' in first and "search_traces(data_dir=...)" in first
    assert 'pip install "otel-feedback[collector]"' in second and "otel_feedback.evaluation" in second


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    with CollectorProcess(tmp_path / "data", args=["--grpc-port", "-1"]) as process:
        yield process


def test_a_traced_openai_app_with_the_sdk_alone_reaches_the_collector(
    sdk_venv: FreshVenv, collector: CollectorProcess, tmp_path: Path
) -> None:
    sdk_venv.pip_install(f"{sdk_venv.source}[openai]")
    installed = sdk_venv.installed()
    assert "openai" in installed
    assert not installed & set(SERVER_PACKAGES), f"the openai extra pulled in {sorted(installed & set(SERVER_PACKAGES))}"
    script = tmp_path / "app.py"
    script.write_text(APP, encoding="utf-8")
    with LocalOpenAIServer() as model:
        result = sdk_venv.run(str(script), collector.http_url, model.base_url, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["answer"]
    rows = report["rows"]
    assert [row["trace_id"] for row in rows] == [report["trace_id"]]
    assert rows[0]["assessments.user_feedback"] is False
    assert rows[0]["name"] == "chatbot" and rows[0]["span_count"] == 2
    assert 'pip install "otel-feedback[collector]"' in report["table_error"]

    # The collector stored the chat span the instrumentor made, and the feedback.
    with urllib.request.urlopen(f"{collector.http_url}/api/v1/traces/{report['trace_id']}", timeout=30) as response:
        detail = json.load(response)
    kinds = {span["name"]: span["span_type"] for span in detail["spans"]}
    assert kinds.get("chat gpt-4o-mini") == "CHAT_MODEL", kinds  # what the instrumentor marks an LLM chat call
    assert [(a["name"], a["value"], a["source"]["source_id"]) for a in detail["assessments"]] == [
        ("user_feedback", False, "enduser_123")
    ]
