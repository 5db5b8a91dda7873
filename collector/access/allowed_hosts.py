"""The Host header allow-list: the collector's defence against DNS rebinding.

THE RULE: every HTTP request (OTLP, REST API, UI, review app, health check) must name this
collector in its ``Host`` header by one of the allowed names, with any port; anything else gets
421 Misdirected Request with a plain sentence, before any other middleware or route runs.

Why: a page on ``http://evil.example:4318`` can make its DNS name point at 127.0.0.1 after the
page has loaded ("DNS rebinding"). The browser then sends that page's requests to the collector
on loopback, as same-origin requests, so neither CORS nor the Origin check stops them — but the
``Host`` header still says ``evil.example``. Only names the operator chose pass.

Allowed by default: the loopback names ``localhost``, ``127.0.0.1`` and ``::1`` (written
``[::1]`` in a Host header), and the bind address. A wildcard bind (``0.0.0.0``, ``::``) adds
only that literal (what :attr:`CollectorServer.http_url` then says), not the machine's other
names: an IP address in ``Host`` cannot come from a rebinding page (its origin would be the
collector itself), but every name the collector is reached by must be listed. ``--allowed-host NAME`` (repeatable, or ``OTEL_FEEDBACK_ALLOWED_HOSTS``, comma-separated)
adds names: a host name or address, ``.example.com`` for that domain and all its subdomains, or
``*`` to turn the check off (only behind a proxy that checks Host itself). gRPC is not checked:
browsers cannot speak gRPC to it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from otel_feedback_collector.asgi_responses import send_response

_logger = logging.getLogger(__name__)

ALLOWED_HOSTS_ENV = "OTEL_FEEDBACK_ALLOWED_HOSTS"
LOOPBACK_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
_NAME = re.compile(r"^\.?[a-z0-9_]([a-z0-9_\-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_\-]*[a-z0-9_])?)*$")
# Refused names are logged once each, up to this many, so a flood cannot fill the log.
_MAX_LOGGED_NAMES = 64


def parse_allowed_host(value: str) -> str:
    """The normalised form of one ``--allowed-host`` value; ValueError with what to write instead."""
    name = value.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "*":
        return name
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not _NAME.match(name):
        raise ValueError(
            f"{value!r} is not a host name for --allowed-host: give a name like collector.example.com (no scheme, "
            "no port), an IP address, .example.com for a domain and its subdomains, or * to allow any name."
        )
    return name


def allowed_hosts_for(bind_host: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The allow-list of a collector bound to ``bind_host``: loopback names, the bind address, then
    each of ``extra`` (parsed with :func:`parse_allowed_host`)."""
    names = list(LOOPBACK_NAMES)
    if bind_host.strip():
        names.append(parse_allowed_host(bind_host))
    names.extend(parse_allowed_host(value) for value in extra if value.strip())
    return tuple(dict.fromkeys(names))


def host_name(header: str) -> str | None:
    """The name part of a ``Host`` header value (no port, no brackets, lower case), or None when
    it is malformed."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
    else:
        name, separator, port = value.partition(":")
        if separator and not port.isdigit():
            return None
    return name.rstrip(".") or None


class AllowedHostsMiddleware:
    """ASGI middleware answering 421 to HTTP requests whose ``Host`` is not on the allow-list."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str]) -> None:
        self._app = app
        names = [parse_allowed_host(name) for name in allowed_hosts]
        if not names:
            raise ValueError("The Host allow-list is empty; give at least one name (or * to allow any).")
        self._any = "*" in names
        self._exact = frozenset(name for name in names if not name.startswith("."))
        self._domains = tuple(name for name in names if name.startswith("."))
        self._logged: set[str] = set()

    def allows(self, name: str | None) -> bool:
        """True when a request naming ``name`` in its Host header may pass."""
        if self._any:
            return True
        if name is None:
            return False
        return name in self._exact or any(name == domain[1:] or name.endswith(domain) for domain in self._domains)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        header = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"host"), None)
        name = host_name(header) if header is not None else None
        if self.allows(name):
            await self._app(scope, receive, send)
            return
        await _send_misdirected(send, header, name)
        if name is not None and name not in self._logged and len(self._logged) < _MAX_LOGGED_NAMES:
            self._logged.add(name)
            _logger.warning("Refused a request for host %r (not on the --allowed-host list).", name)


async def _send_misdirected(send: Send, header: str | None, name: str | None) -> None:
    if header is None:
        text = "The request has no Host header; send one naming this collector (e.g. Host: 127.0.0.1:4318).\n"
    elif name is None:
        text = f"The Host header {header[:200]!r} is malformed; send the collector's name and port, e.g. 127.0.0.1:4318.\n"
    else:
        text = (
            f"This collector does not answer to the host name {name[:200]!r} (the request's Host header). It only "
            "answers to the names it was given, to guard against DNS rebinding; if you reach it under this name on "
            f"purpose, start it with --allowed-host {name[:200]}.\n"
        )
    await send_response(send, 421, text.encode("utf-8"), content_type=b"text/plain; charset=utf-8")
