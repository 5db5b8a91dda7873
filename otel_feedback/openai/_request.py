"""Reading a client call's keyword arguments: the span's request attributes and its input."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from otel_feedback.openai import _semconv as sc

try:  # the "not given" sentinels; their names moved between openai releases
    from openai._types import NotGiven as _NotGiven

    try:
        from openai._types import Omit as _Omit

        _SENTINELS: tuple[type, ...] = (_NotGiven, _Omit)
    except ImportError:  # pragma: no cover - older 1.x
        _SENTINELS = (_NotGiven,)
except ImportError:  # pragma: no cover - openai without _types
    _SENTINELS = ()

# Transport options, not part of what the model is asked.
_TRANSPORT_KEYS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})

_NUMERIC_PARAMS: tuple[tuple[str, str], ...] = (
    ("temperature", sc.REQUEST_TEMPERATURE),
    ("top_p", sc.REQUEST_TOP_P),
    ("max_tokens", sc.REQUEST_MAX_TOKENS),
    ("max_completion_tokens", sc.REQUEST_MAX_TOKENS),
    ("max_output_tokens", sc.REQUEST_MAX_TOKENS),
    ("frequency_penalty", sc.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", sc.REQUEST_PRESENCE_PENALTY),
    ("seed", sc.REQUEST_SEED),
    ("n", sc.REQUEST_CHOICE_COUNT),
    ("dimensions", sc.EMBEDDINGS_DIMENSION_COUNT),
)


def _given(value: Any) -> bool:
    return value is not None and not isinstance(value, _SENTINELS)


def request_attributes(resource: Any, kwargs: Mapping[str, Any], model_key: str = sc.LLM_MODEL_NAME) -> dict[str, Any]:
    """GenAI request attributes: model, sampling parameters and the server address.

    ``model_key`` is the OpenInference name of the model: ``llm.model_name``, or
    ``embedding.model_name`` for embeddings."""
    attributes: dict[str, Any] = {}
    model = kwargs.get("model")
    if isinstance(model, str):
        attributes[sc.REQUEST_MODEL] = model
        attributes[model_key] = model
    for key, attribute in _NUMERIC_PARAMS:
        value = kwargs.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[attribute] = value
    stop = kwargs.get("stop")
    if isinstance(stop, str):
        attributes[sc.REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, (list, tuple)) and stop and all(isinstance(item, str) for item in stop):
        attributes[sc.REQUEST_STOP_SEQUENCES] = list(stop)
    encoding = kwargs.get("encoding_format")
    if isinstance(encoding, str):
        attributes[sc.REQUEST_ENCODING_FORMATS] = [encoding]
    attributes.update(server_attributes(resource))
    return attributes


def server_attributes(resource: Any) -> dict[str, Any]:
    """``server.address`` / ``server.port`` from the client's base URL."""
    url = getattr(getattr(resource, "_client", None), "base_url", None)
    host = getattr(url, "host", None)
    if not isinstance(host, str) or not host:
        return {}
    port = getattr(url, "port", None)
    if isinstance(port, int):
        return {sc.SERVER_ADDRESS: host, sc.SERVER_PORT: port}
    return {sc.SERVER_ADDRESS: host}


def _capturable(value: Any) -> Any:
    if isinstance(value, type):
        return value.__name__  # response_format=MyModel: the class's name, not its repr
    if isinstance(value, Iterator):
        return "<iterator, not captured>"  # reading it would consume what the client is about to send
    return value


def request_input(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The request as the model sees it (for ``input.value``): given arguments, no transport options."""
    return {
        key: _capturable(value)
        for key, value in kwargs.items()
        if key not in _TRANSPORT_KEYS and _given(value)
    }
