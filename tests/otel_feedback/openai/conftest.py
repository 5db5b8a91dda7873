"""Fixtures for the OpenAI instrumentation tests: a local model server and real openai clients."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from otel_feedback.openai import OpenAIInstrumentor, autolog
from otel_feedback_testing import LocalOpenAIServer


@pytest.fixture(scope="module")
def model_server() -> Iterator[LocalOpenAIServer]:
    """One local OpenAI-compatible server per test module."""
    with LocalOpenAIServer() as server:
        yield server


@pytest.fixture
def server(model_server: LocalOpenAIServer) -> Iterator[LocalOpenAIServer]:
    """The module's server with no queued faults and the default responder."""
    responder = model_server.responder
    model_server.faults.clear()
    yield model_server
    model_server.faults.clear()
    model_server.responder = responder


@pytest.fixture
def instrumented() -> Iterator[OpenAIInstrumentor]:
    """OpenAI tracing on (content captured) for the test, off afterwards."""
    instrumentor = autolog(capture_content=True)
    yield instrumentor
    instrumentor.uninstrument()


@pytest.fixture
def client(server: LocalOpenAIServer) -> Iterator[openai.OpenAI]:
    """A real sync client talking HTTP to the local server, with retries off."""
    with openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as sync_client:
        yield sync_client


@pytest.fixture
def async_client(server: LocalOpenAIServer) -> openai.AsyncOpenAI:
    """A real async client talking HTTP to the local server, with retries off."""
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
