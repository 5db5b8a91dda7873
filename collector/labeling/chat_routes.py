"""The review app's chat ("vibe check"): reviewers talk to a registered agent and judge each answer.

::

    GET  /review/chat[?agent=NAME]   the conversation page (an agent picker when there are several)
    POST /review/chat/turns          one turn, proxied to the agent and streamed back (JSON lines)
    POST /review/chat/feedback       a verdict on one answer (JSON)

Only signed-in reviewers chat (the page redirects to sign-in; the POSTs answer 401). Both POSTs
are JSON from this origin with the page's CSRF token in ``X-CSRF-Token``
(:mod:`otel_feedback_collector.labeling.reviewer_auth`). The browser keeps the conversation and
sends it whole each turn; the server checks its shape and sizes, then calls the agent server-side
(:mod:`~otel_feedback_collector.labeling.agent_endpoint`) with a fresh ``traceparent`` per turn and
the conversation's session id in ``X-Session-Id``, and writes the turn's root span
(:mod:`~otel_feedback_collector.labeling.chat_turn_span`). The stream to the browser is one JSON
object per line: ``{"trace_id"}`` first, then ``{"delta"}`` pieces, then ``{"done"}`` or
``{"error"}`` — an agent that is down or slow ends the turn with a sentence, never a broken page.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.api.json_body import read_json_object
from otel_feedback_collector.catalog.agents import AgentRecord, get_agent, list_agents
from otel_feedback_collector.catalog.reviewer_sessions import session_reviewer
from otel_feedback_collector.labeling.agent_endpoint import AgentUnavailable, stream_chat
from otel_feedback_collector.labeling.chat_feedback import ChatVerdict, save_verdict
from otel_feedback_collector.labeling.chat_turn_span import ChatTurn
from otel_feedback_collector.labeling.context import LabelingContext
from otel_feedback_collector.labeling.review_routes import _message, _page
from otel_feedback_collector.labeling.reviewer_auth import cookie_session_id, csrf_token, form_post_allowed
from otel_feedback_collector.labeling.summary import REVIEW_PATH
from otel_feedback_collector.storage import StoreBusy
from otel_feedback_collector.ui.rendering import SECURITY_HEADERS
from otel_feedback_core.assessments import validate_trace_id

logger = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
SESSION_HEADER = "X-Session-Id"  # what otel-feedback chat-app reads (otel_feedback.chat_app)
TIMEOUT_ENV = "OTEL_FEEDBACK_AGENT_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 120.0
MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 100_000
_CHAT_SESSION = re.compile(r"^[0-9a-f]{32}$")


def agent_timeout() -> float:
    """Seconds to wait for an agent to connect and for each next piece (``$OTEL_FEEDBACK_AGENT_TIMEOUT``)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        logger.warning("%s=%r is not a number of seconds; using %g", TIMEOUT_ENV, raw, DEFAULT_TIMEOUT_SECONDS)
        return DEFAULT_TIMEOUT_SECONDS
    return value if value > 0 else DEFAULT_TIMEOUT_SECONDS


def chat_messages(raw: Any) -> list[dict[str, str]]:
    """The conversation the browser sent, checked: user/assistant text messages ending with the user's."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_MESSAGES:
        raise ApiError(422, f"messages must be a list of 1 to {MAX_MESSAGES} messages; start a new conversation.")
    messages = []
    for message in raw:
        if (not isinstance(message, dict) or message.get("role") not in ("user", "assistant")
                or not isinstance(message.get("content"), str) or len(message["content"]) > MAX_MESSAGE_CHARS):
            raise ApiError(422, "Each message needs a role (user or assistant) and a text of at most "
                           f"{MAX_MESSAGE_CHARS} characters.")
        messages.append({"role": message["role"], "content": message["content"]})
    if messages[-1]["role"] != "user" or not messages[-1]["content"].strip():
        raise ApiError(422, "The conversation must end with your message; type one.")
    return messages


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n"


def chat_routes(labeling: LabelingContext, *, timeout: float | None = None) -> Sequence[BaseRoute]:
    """The chat routes, bound to ``labeling`` (``timeout``: the agent timeout, default :func:`agent_timeout`)."""
    wait = timeout if timeout is not None else agent_timeout()

    async def signed_in(request: Request) -> tuple[str | None, bytes]:
        key = await run_in_threadpool(labeling.cookie_secret)
        cookie = cookie_session_id(request, key)
        if cookie is None:
            return None, key
        return await run_in_threadpool(lambda: session_reviewer(labeling.catalog, cookie)), key

    async def checked_post(request: Request) -> tuple[str, dict[str, Any], AgentRecord]:
        reviewer, key = await signed_in(request)
        if reviewer is None:
            raise ApiError(401, "You are signed out. Sign in again (reload the page), then resend.")
        if not form_post_allowed(request, key, request.headers.get(CSRF_HEADER)):
            raise ApiError(403, "This request did not come from this chat page; reload the page and try again.")
        body = await read_json_object(request)
        agent = await run_in_threadpool(lambda: get_agent(labeling.catalog, str(body.get("agent", ""))))
        if agent is None:
            raise ApiError(404, f"There is no agent {body.get('agent')!r} any more; reload the page.")
        if not isinstance(body.get("session_id"), str) or not _CHAT_SESSION.match(body["session_id"]):
            raise ApiError(422, "This conversation has no valid session id; reload the page.")
        return reviewer, body, agent

    async def chat_page(request: Request) -> Response:
        reviewer, key = await signed_in(request)
        if reviewer is None:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{REVIEW_PATH}/signin?next={quote(back, safe='')}", status_code=303)
        agents = await run_in_threadpool(lambda: list_agents(labeling.catalog))
        if not agents:
            return _message("No agent yet", "No app is registered for chatting yet. Its developer registers one "
                            "with get_review_app().add_agent(agent_name=..., model_serving_endpoint=...).",
                            status_code=200, reviewer=reviewer)
        wanted = request.query_params.get("agent")
        agent = next((a for a in agents if a.name == wanted), agents[0])
        return _page("chat.html", reviewer=reviewer, agents=agents, agent=agent, session_id=uuid.uuid4().hex,
                     token=csrf_token(key, request))

    async def turn(request: Request) -> Response:
        try:
            reviewer, body, agent = await checked_post(request)
            messages = chat_messages(body.get("messages"))
        except ApiError as error:
            return JSONResponse({"error": error.message}, status_code=error.status, headers=SECURITY_HEADERS)
        chat = ChatTurn(agent=agent.name, session_id=body["session_id"], reviewer=reviewer, messages=messages)
        return StreamingResponse(_relay(chat, agent), media_type="application/x-ndjson", headers=SECURITY_HEADERS)

    def _relay(chat: ChatTurn, agent: AgentRecord) -> Iterator[bytes]:
        yield _line({"trace_id": chat.trace_id})
        pieces: list[str] = []
        try:
            for piece in stream_chat(agent.base_url, model=agent.model, messages=chat.messages,
                                     headers={"traceparent": chat.traceparent, SESSION_HEADER: chat.session_id},
                                     user=chat.reviewer, timeout=wait):
                pieces.append(piece)
                yield _line({"delta": piece})
        except AgentUnavailable as error:
            chat.error = str(error)
        except Exception as error:  # noqa: BLE001 - the reviewer gets a sentence, the log the details
            logger.exception("review chat: the turn with %s failed", agent.name)
            chat.error = f"The review app could not finish this turn ({type(error).__name__}); see the collector's log."
        except GeneratorExit:
            chat.error = "The reviewer left before the answer ended."
            raise
        finally:
            chat.answer = "".join(pieces)
            _write_turn(chat)
        yield _line({"error": chat.error} if chat.error else {"done": True})

    def _write_turn(chat: ChatTurn) -> None:
        try:
            labeling.store.write_traces(chat.export_request(end_unix_nano=time.time_ns()))
        except StoreBusy:
            logger.warning("review chat: the store was busy; the turn's span %s was not written", chat.span_id)

    async def feedback(request: Request) -> Response:
        try:
            reviewer, body, agent = await checked_post(request)
            trace_id = body.get("trace_id")
            try:
                trace_id = validate_trace_id(trace_id)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ApiError(422, "This answer has no trace id to attach feedback to.") from None
            if body.get("verdict") not in ("good", "bad"):
                raise ApiError(422, "Choose Good answer or Bad answer first.")
            verdict = ChatVerdict(trace_id=trace_id, good=body["verdict"] == "good",
                                  comment=_optional_text(body.get("comment")),
                                  expected_response=_optional_text(body.get("expected_response")))
            rows = await run_in_threadpool(lambda: save_verdict(labeling.api, verdict, reviewer=reviewer,
                                                                agent=agent.name, chat_session=body["session_id"]))
            await run_in_threadpool(labeling.store.flush)  # visible to SQL and the UI at once (human speed)
        except ApiError as error:
            return JSONResponse({"error": error.message}, status_code=error.status, headers=SECURITY_HEADERS)
        return JSONResponse({"saved": [{"name": row.name, "assessment_id": row.assessment_id} for row in rows]},
                            headers=SECURITY_HEADERS)

    return [
        Route(f"{REVIEW_PATH}/chat", chat_page, methods=["GET"]),
        Route(f"{REVIEW_PATH}/chat/turns", turn, methods=["POST"]),
        Route(f"{REVIEW_PATH}/chat/feedback", feedback, methods=["POST"]),
    ]


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(422, "Comment and expected answer must be text.")
    return value.strip() or None
