"""deploy/: the OpenTelemetry Collector configuration, the compose file and the Dockerfile.

Neither the collector binary nor a container engine runs here, so these checks are structural:
every component a pipeline names is defined, traces and logs both go through the
load-balancing exporter with the keys its documentation gives, the compose services run real
flags of our CLI, and the ports and hosts on both sides agree.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from otelcol_rules import problems, static_backends  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
def _load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))


@cache
def _flags(command: str) -> frozenset[str]:
    """The long options ``otel-feedback COMMAND --help`` lists."""
    shown = subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", command, "--help"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    return frozenset(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", shown))


def _option(command: list[str], flag: str, default: str | None = None) -> str | None:
    return command[command.index(flag) + 1] if flag in command else default


def _options(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command) if word == flag]


def _ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run our image (``otel-feedback`` is the image's entry point)."""
    return {name: s for name, s in compose["services"].items() if s.get("image") == "otel-feedback:local"}


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """container path -> (source, read-only) of a service's short-syntax volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        mounts[target] = (source, mode == ["ro"])
    return mounts


def test_the_otelcol_configuration_is_complete() -> None:
    config = _load("otelcol.yaml")
    assert problems(config) == []
    receiver = config["receivers"]["otlp"]["protocols"]
    assert set(receiver) == {"grpc", "http"}
    exporter = config["exporters"]["load_balancing"]
    assert exporter["routing_key"] == "traceID"  # logs would otherwise be routed by service name
    assert len(exporter["resolver"]["static"]["hostnames"]) >= 2


def test_the_old_snippet_from_the_docs_is_refused() -> None:
    """What docs/collector.md used to show: these rules must catch each of its faults."""
    old = yaml.safe_load(
        """
        exporters:
          loadbalancing:
            routing_key: traceID
            protocol: {otlp: {tls: {insecure: true}}}
            resolver: {static: {hostnames: [collector-a:4317, collector-b:4317]}}
        service:
          pipelines:
            traces: {receivers: [otlp], processors: [], exporters: [loadbalancing]}
        """
    )
    found = problems(old)
    assert "pipeline 'traces' uses receiver 'otlp', which receivers does not define" in found
    assert "the 'logs' pipeline does not export to 'load_balancing'" in found
    assert "exporter 'loadbalancing' uses the deprecated type name; it is 'load_balancing'" in found
    renamed = yaml.safe_load(yaml.safe_dump(old).replace("loadbalancing", "load_balancing"))
    renamed["exporters"]["load_balancing"]["protocol"]["otlp"]["endpoint"] = "collector-a:4317"
    renamed["exporters"]["load_balancing"]["resolve"] = {}
    assert "load_balancing: protocol.otlp.endpoint must not be set (the resolver gives each backend's)" in problems(renamed)
    assert "load_balancing: unknown key 'resolve'" in problems(renamed)


def test_the_backends_are_the_compose_collectors_on_their_grpc_ports() -> None:
    config, compose = _load("otelcol.yaml"), _load("compose.yaml")
    ours = _ours(compose)
    backends = static_backends(config)
    assert backends
    for host, port in backends:
        assert host in ours, f"{host} is not a service of compose.yaml"
        command = ours[host]["command"]
        assert command[0] == "serve"
        assert _option(command, "--host") == "0.0.0.0", f"{host} listens on loopback only"
        assert int(_option(command, "--grpc-port", "4317") or 0) == port
    assert compose["services"]["otelcol"]["depends_on"] == sorted({host for host, _ in backends})


def test_the_otelcol_service_runs_this_configuration_on_its_ports() -> None:
    config, compose = _load("otelcol.yaml"), _load("compose.yaml")
    otelcol = compose["services"]["otelcol"]
    assert otelcol["image"].startswith("otel/opentelemetry-collector-contrib:")
    config_path = _option([p for part in otelcol["command"] for p in part.split("=", 1)], "--config")
    source, read_only = _mounts(otelcol)[str(config_path)]
    assert (DEPLOY / source).resolve() == DEPLOY / "otelcol.yaml" and read_only
    listen_ports = {int(p["endpoint"].rpartition(":")[2]) for p in config["receivers"]["otlp"]["protocols"].values()}
    published = {int(mapping.split(":")[-1]) for mapping in otelcol["ports"]}
    assert published == listen_ports == {4317, 4318}


def test_compose_commands_use_real_flags() -> None:
    for name, service in _ours(_load("compose.yaml")).items():
        command = service["command"]
        for word in command[1:]:
            if word.startswith("--"):
                assert word in _flags(command[0]), f"{name}: `otel-feedback {command[0]}` has no {word}"


def test_each_writer_owns_its_data_and_the_others_only_read_it() -> None:
    compose = _load("compose.yaml")
    ours = _ours(compose)
    writers = {name: s for name, s in ours.items() if s["command"][0] == "serve" and "--read-only" not in s["command"]}
    assert len(writers) == 2
    owned: dict[str, str] = {}  # volume -> data directory
    for name, service in writers.items():
        [data] = _options(service["command"], "--data")
        source, read_only = _mounts(service)[data]
        assert not read_only and source in compose["volumes"]
        assert source not in owned, f"{name} shares its data volume with another collector"
        owned[source] = data

    reader = ours["reader"]["command"]
    assert reader[:6] == shlex.split("serve --read-only --data /data/a --data /data/b")
    for name, service in ours.items():
        if name in writers:
            continue
        for data in _options(service["command"], "--data"):
            source, read_only = _mounts(service)[data]
            assert owned.get(source) == data and read_only, f"{name} must mount {data} read-only from its writer's volume"
    assert set(_options(reader, "--data")) == set(owned.values())
    assert "--host" in reader and "8080:8080" in compose["services"]["reader"]["ports"]


def test_the_image_installs_the_collector_extra_and_runs_our_command() -> None:
    compose = _load("compose.yaml")
    build = next(iter(_ours(compose).values()))["build"]
    context = (DEPLOY / build["context"]).resolve()
    dockerfile = (context / build["dockerfile"]).read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for path in source.split():
            assert (context / path).exists(), f"the Dockerfile copies {path}, which does not exist"
    [extra] = re.findall(r'pip install --no-cache-dir "\.\[(\w+)\]"', dockerfile)
    assert extra in pyproject["project"]["optional-dependencies"]
    assert 'ENTRYPOINT ["otel-feedback"]' in dockerfile and "otel-feedback" in pyproject["project"]["scripts"]
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for path in source.split():
            assert f"!{path}" in ignore or f"!{path}/**" in ignore, f"{path} is left out of the build context"


@pytest.mark.parametrize("name", ["otelcol.yaml", "compose.yaml"])
def test_no_secret_is_written_into_the_files(name: str) -> None:
    text = (DEPLOY / name).read_text(encoding="utf-8")
    assert not re.search(r"(?i)(secret|token|password)\s*:\s*[\"']?[A-Za-z0-9]{8,}", text)
