"""Fixtures for the peer tests: Phoenix and MLflow, each in its own cached virtualenv, on loopback.

The first run on a machine builds the two environments with pip (a few minutes; see
docs/peers.md); later runs reuse them from ``.peer-venvs/``. Each server runs on free loopback
ports with its data in a temporary folder and is stopped at the end of its test module. The app
runs as its own process (tests/peers/chatbot_app.py) with our SDK pointed at the peer.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from peer_servers import PeerServer, free_port, running_server
from peer_venvs import PeerVenv, ensure_venv

# Pinned so a run is reproducible; the newest releases the registry offered when this was
# written (mlflow 3.18.0 was listed, but its mlflow-skinny 3.18.0 was not yet downloadable).
PHOENIX_REQUIREMENTS = ["arize-phoenix==20.26.1"]
MLFLOW_REQUIREMENTS = ["mlflow==3.17.2"]


PEER_REQUIREMENTS = {"phoenix": PHOENIX_REQUIREMENTS, "mlflow": MLFLOW_REQUIREMENTS}


def _report(config: pytest.Config, line: str) -> None:
    """Write ``line`` to the terminal, past pytest's output capture (it runs in a fixture)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="session")
def peer_venvs(request: pytest.FixtureRequest) -> dict[str, PeerVenv]:
    """The environments of the peers this run's tests use, built side by side when not cached.

    Side by side because pip spends much of a cold install unpacking wheels on one core: the two
    builds together take little longer than the slower one alone.
    """
    wanted = [name for name in PEER_REQUIREMENTS if any(f"{name}_venv" in item.fixturenames for item in request.session.items)]
    with ThreadPoolExecutor(max_workers=len(wanted) or 1) as pool:
        futures = {name: pool.submit(ensure_venv, name, PEER_REQUIREMENTS[name]) for name in wanted}
        venvs = {name: future.result() for name, future in futures.items()}
    for name, venv in venvs.items():
        built = "reused from the cache" if venv.build_seconds is None else f"built in {venv.build_seconds:.0f} s"
        _report(request.config, f"\npeers: {name} virtualenv ({' '.join(PEER_REQUIREMENTS[name])}) {built}: {venv.path}")
    return venvs


@pytest.fixture(scope="session")
def phoenix_venv(peer_venvs: dict[str, PeerVenv]) -> PeerVenv:
    return peer_venvs["phoenix"]


@pytest.fixture(scope="session")
def mlflow_venv(peer_venvs: dict[str, PeerVenv]) -> PeerVenv:
    return peer_venvs["mlflow"]


@pytest.fixture(scope="module")
def phoenix_server(phoenix_venv: PeerVenv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerServer]:
    """Phoenix serving its UI, REST API and OTLP/HTTP (``/v1/traces``) on one loopback port.

    Its OTLP/gRPC receiver binds all interfaces whatever PHOENIX_HOST says (Phoenix 20.26.1); it
    gets a free port and nothing is sent to it.
    """
    workdir = tmp_path_factory.mktemp("phoenix")
    port, grpc_port = free_port(), free_port()
    env = {
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(workdir),
    }
    command = [str(phoenix_venv.python), "-m", "phoenix.server.main", "serve"]
    with running_server(
        "phoenix", command, url=f"http://127.0.0.1:{port}", health_path="/healthz", env=env, log_dir=workdir
    ) as server:
        yield server


@pytest.fixture(scope="module")
def mlflow_server(mlflow_venv: PeerVenv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerServer]:
    """An MLflow tracking server with a SQLite store (its OTLP endpoint needs a SQL store)."""
    workdir = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    command = [
        str(mlflow_venv.bin("mlflow")), "server",
        "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root", str(workdir / "artifacts"),
        "--workers", "1",
    ]
    with running_server(
        "mlflow", command, url=f"http://127.0.0.1:{port}", health_path="/health", env={}, log_dir=workdir
    ) as server:
        yield server
