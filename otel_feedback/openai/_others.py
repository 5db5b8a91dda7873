"""Noticing another OpenAI instrumentation, so one call never makes two LLM spans.

OpenInference (``openinference-instrumentation-openai``) wraps the client's ``request`` method;
OpenLLMetry (``opentelemetry-instrumentation-openai``) wraps the resource methods we wrap too,
before or after us. Both use ``wrapt``, whose function wrappers carry ``__wrapped__`` and
``_self_wrapper`` (the C and pure-Python ones alike, in wrapt 1 and 2); ours are plain functions.
So such a wrapper on the client's ``request``, on the method we replaced, or
in place of our wrapper means someone else traces the call: we let it through untraced and say
so once in the log. Checked on every call (a few dictionary lookups), so uninstrumenting the
other one gives our spans back at once.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("otel_feedback.openai")

OUR_ENTRY_POINT = "otel_feedback_openai"
_warned: set[str] = set()


def _class_attribute(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def _is_wrapt_wrapper(value: Any) -> bool:
    # Duck-typed: wrapt 2's C FunctionWrapper is not an instance of wrapt.ObjectProxy.
    return value is not None and hasattr(value, "_self_wrapper") and hasattr(value, "__wrapped__")


def _owner(proxy: Any) -> str:
    """The module of the code behind a wrapt wrapper, e.g. ``openinference.instrumentation.openai``."""
    wrapper = getattr(proxy, "_self_wrapper", None)
    module = getattr(wrapper, "__module__", None) or type(wrapper).__module__
    return str(module or "unknown module")


def other_instrumentation(resource: Any, original: Any, method: str) -> str | None:
    """The module of another instrumentation tracing this call, or None when only ours does."""
    if _is_wrapt_wrapper(original):  # wrapped before we were
        return _owner(original)
    current = type(resource).__dict__.get(method)
    if _is_wrapt_wrapper(current):  # wrapped after us, around our wrapper
        return _owner(current)
    client = getattr(resource, "_client", None)
    if client is not None:
        request = _class_attribute(type(client), "request")
        if _is_wrapt_wrapper(request):  # OpenInference wraps OpenAI.request
            return _owner(request)
    return None


def warn_once(owner: str) -> None:
    """Say, once per other instrumentation, that it traces OpenAI calls and ours steps aside."""
    if owner in _warned:
        return
    _warned.add(owner)
    logger.warning(
        "otel_feedback: another OpenAI instrumentation (%s) already traces the openai client, so "
        "otel_feedback records no OpenAI span of its own while it is on (one call, one LLM span). "
        "To use otel_feedback's spans instead, turn the other one off (uninstrument it, or with "
        "opentelemetry-instrument set OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai); to keep the "
        "other one and silence this, set OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=%s or do not call autolog().",
        owner, OUR_ENTRY_POINT,
    )
