"""Structural rules an OpenTelemetry Collector configuration must meet to start, as far as they
can be checked without the collector binary (which cannot be installed here).

The exporter's keys are those of the load-balancing exporter's config schema
(opentelemetry-collector-contrib, exporter/loadbalancingexporter/config.schema.yaml, v0.154.0):
``protocol``, ``resolver``, ``routing_key``, ``routing_attributes``, ``sending_queue``, plus the
exporter helper's ``timeout`` and ``retry_on_failure``; ``protocol`` holds only ``otlp`` (the
OTLP exporter's settings, whose ``endpoint`` the resolver fills in and must not be set).
"""

from __future__ import annotations

from typing import Any

SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions", "service")
PIPELINE_ROLES = ("receivers", "processors", "exporters")
LOAD_BALANCING = "load_balancing"
EXPORTER_KEYS = {"protocol", "resolver", "routing_key", "routing_attributes", "sending_queue", "timeout", "retry_on_failure"}
RESOLVERS = {"static", "dns", "k8s", "aws_cloud_map"}
# routing_key values the README lists per pipeline type.
ROUTING_KEYS = {"traces": {"service", "traceID", "attributes"}, "logs": {"service", "traceID", "resource", "attributes"}}


def component_type(component_id: str) -> str:
    """``otlp/backend-1`` -> ``otlp``."""
    return component_id.split("/", 1)[0]


def problems(config: Any) -> list[str]:
    """Every rule ``config`` breaks, as sentences; empty when it passes."""
    if not isinstance(config, dict):
        return ["the configuration is not a mapping"]
    found = [f"unknown top-level section {key!r}" for key in config if key not in SECTIONS]
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    if not pipelines:
        found.append("service.pipelines is empty")
    for name, pipeline in pipelines.items():
        for role in PIPELINE_ROLES:
            defined = config.get(role) or {}
            for component in (pipeline or {}).get(role) or []:
                if component not in defined:
                    found.append(f"pipeline {name!r} uses {role[:-1]} {component!r}, which {role} does not define")
        if not (pipeline or {}).get("receivers") or not (pipeline or {}).get("exporters"):
            found.append(f"pipeline {name!r} needs at least one receiver and one exporter")
    for signal in ("traces", "logs"):
        exporters = (pipelines.get(signal) or {}).get("exporters") or []
        if not any(component_type(e) == LOAD_BALANCING for e in exporters):
            found.append(f"the {signal!r} pipeline does not export to {LOAD_BALANCING!r}")
    for component_id, settings in (config.get("exporters") or {}).items():
        if component_type(component_id) == "loadbalancing":
            found.append(f"exporter {component_id!r} uses the deprecated type name; it is {LOAD_BALANCING!r}")
        if component_type(component_id) == LOAD_BALANCING:
            found.extend(_load_balancing_problems(component_id, settings or {}, pipelines))
    return found


def _load_balancing_problems(component_id: str, settings: dict[str, Any], pipelines: dict[str, Any]) -> list[str]:
    found = [f"{component_id}: unknown key {key!r}" for key in settings if key not in EXPORTER_KEYS]
    protocol = settings.get("protocol") or {}
    if set(protocol) != {"otlp"}:
        found.append(f"{component_id}: protocol must hold exactly 'otlp' (got {sorted(protocol)})")
    if "endpoint" in (protocol.get("otlp") or {}):
        found.append(f"{component_id}: protocol.otlp.endpoint must not be set (the resolver gives each backend's)")
    resolver = settings.get("resolver") or {}
    if not resolver or set(resolver) - RESOLVERS:
        found.append(f"{component_id}: resolver must be one of {sorted(RESOLVERS)} (got {sorted(resolver)})")
    static = resolver.get("static")
    if static is not None and (set(static) != {"hostnames"} or not static.get("hostnames")):
        found.append(f"{component_id}: resolver.static needs a non-empty hostnames list and nothing else")
    key = settings.get("routing_key")
    for signal, pipeline in pipelines.items():
        if component_id in ((pipeline or {}).get("exporters") or []):
            kind = component_type(signal)
            if key is not None and key not in ROUTING_KEYS.get(kind, set()):
                found.append(f"{component_id}: routing_key {key!r} cannot route {kind}")
    return found


def static_backends(config: dict[str, Any]) -> list[tuple[str, int]]:
    """(host, port) of every static backend of every load-balancing exporter."""
    backends = []
    for component_id, settings in (config.get("exporters") or {}).items():
        if component_type(component_id) == LOAD_BALANCING:
            for hostname in ((settings or {}).get("resolver") or {}).get("static", {}).get("hostnames", []):
                host, _, port = hostname.rpartition(":")
                backends.append((host, int(port)) if host else (hostname, 4317))  # 4317: the documented default
    return backends
