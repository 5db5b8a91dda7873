"""The review app: HTML pages under ``/review`` where experts sign in and label a session.

::

    GET  /review/                                   the sessions this reviewer may label
    GET  /review/signin   POST /review/signin       sign in with a name and password
    POST /review/signout
    GET  /review/sessions/{session_id}              queue, progress, agreement, disagreements
    GET  /review/sessions/{session_id}/items/{n}    item n: conversation, feedback, one control per schema
    POST /review/sessions/{session_id}/items/{n}    action=submit (validated, stored) or skip
    GET  /review/static/...                         CSS

Pages are rendered with autoescaping; no data is ever marked safe. Only assigned reviewers may
open a session that has assignees (others get a 403 page). Form POSTs are checked by
:mod:`otel_feedback_collector.labeling.reviewer_auth` (origin and CSRF token). Sign-in attempts are throttled
per name and per client address (:mod:`otel_feedback_collector.labeling.signin_throttle`: 429 with
``Retry-After``) and at most two password hashes run at once
(:mod:`otel_feedback_collector.labeling.hash_work_limit`: 503 with ``Retry-After`` when none comes free).
Sessions live in the catalog, so signing out ends them (:mod:`otel_feedback_collector.catalog.reviewer_sessions`).

The collector's bearer token (``--token``) does not apply here: reviewers are people with a
browser and a name and password of their own, not the token. So the sign-in page stays reachable
with ``--token`` and is guarded by the throttle, the hash bound and the Host check instead.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.catalog.sessions import (
    ItemRecord,
    SessionRecord,
    current_labels,
    list_items,
    list_sessions,
    mark_opened,
    mark_skipped,
)
from otel_feedback_collector.catalog.reviewer_sessions import end_session, session_reviewer, start_session
from otel_feedback_collector.catalog.users import verify_user
from otel_feedback_collector.labeling.context import LabelingContext
from otel_feedback_collector.labeling.conversation import load_conversation
from otel_feedback_collector.labeling.form_answers import ANSWER_PREFIX, COMMENT_PREFIX, answers_from_form, read_form
from otel_feedback_collector.labeling.reviewer_auth import (
    COOKIE_LIFETIME_SECONDS,
    COOKIE_NAME,
    CSRF_FIELD,
    cookie_session_id,
    csrf_token,
    form_post_allowed,
    make_cookie,
    same_origin_post,
)
from otel_feedback_collector.labeling.hash_work_limit import HashWorkLimit
from otel_feedback_collector.labeling.signin_throttle import SigninThrottle
from otel_feedback_collector.labeling.submission import store_answers
from otel_feedback_collector.labeling.summary import REVIEW_PATH, agreement, progress
from otel_feedback_collector.ui.rendering import SECURITY_HEADERS

_HERE = Path(__file__).resolve().parent
_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.globals.update(review=REVIEW_PATH, answer_prefix=ANSWER_PREFIX, comment_prefix=COMMENT_PREFIX,
                            csrf_field=CSRF_FIELD)


def _page(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def _message(title: str, text: str, *, status_code: int, reviewer: str | None = None,
             retry_after: float | None = None) -> HTMLResponse:
    response = _page("message.html", status_code=status_code, title=title, text=text, reviewer=reviewer, token="")
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def _safe_next(target: str) -> str:
    """Only paths inside the review app may be redirected to (no open redirect)."""
    if target.startswith(REVIEW_PATH + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return REVIEW_PATH + "/"


class _Secret:
    """The cookie secret, read from the catalog once."""

    def __init__(self, labeling: LabelingContext) -> None:
        self._labeling = labeling
        self._value: bytes | None = None
        self._guard = threading.Lock()

    def get(self) -> bytes:
        with self._guard:
            if self._value is None:
                self._value = self._labeling.catalog.secret()
            return self._value


WRONG_PASSWORD_MESSAGE = (
    "That name and password do not match. Check the spelling of both (passwords are case-sensitive) and "
    "try again. If you have no account yet or forgot your password, ask the person who invited you to review."
)


def _too_many_attempts(wait: float) -> HTMLResponse:
    return _message("Too many attempts", f"Too many failed sign-ins for this name or from this address. Wait "
                    f"{math.ceil(wait)} seconds, then try again.", status_code=429, retry_after=wait)


def _client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def review_routes(labeling: LabelingContext, *, throttle: SigninThrottle | None = None,
                  hash_limit: HashWorkLimit | None = None) -> Sequence[BaseRoute]:
    """The review app's routes, bound to ``labeling`` (``throttle`` and ``hash_limit``: the sign-in
    limits, defaults when not given)."""
    secret = _Secret(labeling)
    throttle = throttle or SigninThrottle()
    hash_limit = hash_limit or HashWorkLimit()

    async def reviewer_of(request: Request) -> str | None:
        key = await run_in_threadpool(secret.get)
        session_id = cookie_session_id(request, key)
        if session_id is None:
            return None
        return await run_in_threadpool(lambda: session_reviewer(labeling.catalog, session_id))

    def to_signin(request: Request) -> Response:
        return RedirectResponse(f"{REVIEW_PATH}/signin?next={quote(request.url.path)}", status_code=303)

    async def open_session(request: Request, reviewer: str) -> SessionRecord | HTMLResponse:
        try:
            session = await run_in_threadpool(lambda: labeling.session(request.path_params["session_id"]))
        except ApiError as error:
            return _message("Not found", error.message, status_code=404, reviewer=reviewer)
        if not session.allows(reviewer):
            return _message(
                "Not assigned",
                f"{reviewer} is not assigned to the labeling session {session.name!r}. Ask its owner to add you "
                "(session.set_assigned_users).",
                status_code=403,
                reviewer=reviewer,
            )
        return session

    async def signin_page(request: Request) -> Response:
        key = await run_in_threadpool(secret.get)
        return _page("signin.html", next=_safe_next(request.query_params.get("next", "")), error="", name="",
                     reviewer=None, token=csrf_token(key, request))

    async def signin(request: Request) -> Response:
        key = await run_in_threadpool(secret.get)
        try:
            form = await read_form(request)
        except ApiError as error:
            return _message("Bad request", error.message, status_code=error.status)
        if not form_post_allowed(request, key, form.csrf_token):
            return _message("Refused", "This sign-in did not come from this site's sign-in page; open it again.",
                            status_code=403)
        name, password = form.first("name").strip(), form.first("password")
        target = _safe_next(form.first("next"))
        address = _client_address(request)
        if (wait := throttle.wait_seconds(name, address)) > 0:  # refused before waiting for a hash turn
            return _too_many_attempts(wait)
        async with hash_limit.turn() as has_turn:
            if not has_turn:
                return _message("Busy", "The collector is busy checking other sign-ins. Try again in a few seconds.",
                                status_code=503, retry_after=2)
            if (wait := throttle.begin_attempt(name, address)) > 0:
                return _too_many_attempts(wait)
            matches = bool(name) and await run_in_threadpool(lambda: verify_user(labeling.catalog, name, password))
        if not matches:
            # The name stays filled in: most failures are a mistyped password.
            return _page("signin.html", status_code=401, next=target, reviewer=None, name=name,
                         error=WRONG_PASSWORD_MESSAGE, token=csrf_token(key, request))
        throttle.succeeded(name, address)
        lifetime = dt.timedelta(seconds=COOKIE_LIFETIME_SECONDS)
        session_id = await run_in_threadpool(lambda: start_session(labeling.catalog, name, lifetime=lifetime))
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE_NAME, make_cookie(key, session_id), max_age=COOKIE_LIFETIME_SECONDS,
                            path=REVIEW_PATH, httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    async def signout(request: Request) -> Response:
        if not same_origin_post(request):
            return _message("Refused", "Sign out from this site's pages.", status_code=403)
        key = await run_in_threadpool(secret.get)
        session_id = cookie_session_id(request, key)
        if session_id is not None:
            await run_in_threadpool(lambda: end_session(labeling.catalog, session_id))
        response = RedirectResponse(f"{REVIEW_PATH}/signin", status_code=303)
        response.delete_cookie(COOKIE_NAME, path=REVIEW_PATH)
        return response

    async def home(request: Request) -> Response:
        reviewer = await reviewer_of(request)
        if reviewer is None:
            return to_signin(request)
        sessions = await run_in_threadpool(lambda: list_sessions(labeling.catalog))
        mine = [session for session in sessions if session.allows(reviewer)]
        key = await run_in_threadpool(secret.get)
        return _page("home.html", reviewer=reviewer, sessions=mine, token=csrf_token(key, request))

    async def session_page(request: Request) -> Response:
        reviewer = await reviewer_of(request)
        if reviewer is None:
            return to_signin(request)
        session = await open_session(request, reviewer)
        if isinstance(session, HTMLResponse):
            return session

        def load() -> dict[str, Any]:
            items = list_items(labeling.catalog, session.session_id)
            schemas = labeling.schemas_of(session)
            return {"items": items, "progress": progress(session, items),
                    "agreement": agreement(labeling.catalog, session, schemas, items)}

        data = await run_in_threadpool(load)
        items: list[ItemRecord] = data["items"]
        next_item = next((item for item in items if item.state_of(reviewer).value in ("PENDING", "IN_PROGRESS")), None)
        key = await run_in_threadpool(secret.get)
        positions = {item.trace_id: item.position for item in items}
        return _page("session.html", reviewer=reviewer, session=session, next_item=next_item, positions=positions,
                     token=csrf_token(key, request), **_confirmation(request), **data)

    async def item_page(request: Request, *, error: str = "", status_code: int = 200,
                        posted: dict[str, Any] | None = None) -> Response:
        reviewer = await reviewer_of(request)
        if reviewer is None:
            return to_signin(request)
        session = await open_session(request, reviewer)
        if isinstance(session, HTMLResponse):
            return session

        def load() -> dict[str, Any] | None:
            items = list_items(labeling.catalog, session.session_id)
            item = _item_at(items, request.path_params["position"])
            if item is None:
                return None
            mark_opened(labeling.catalog, session.session_id, item.trace_id, reviewer)
            mine = [label for label in current_labels(labeling.catalog, session.session_id, trace_id=item.trace_id)
                    if label.reviewer == reviewer]
            return {
                "item": item,
                "count": len(items),
                "schemas": labeling.schemas_of(session),
                "conversation": load_conversation(labeling.api, item.trace_id),
                "previous": {label.schema_name: label.value for label in mine},
                "previous_comments": {label.schema_name: label.comment or "" for label in mine},
            }

        data = await run_in_threadpool(load)
        if data is None:
            return _message("Not found", "This session has no such item.", status_code=404, reviewer=reviewer)
        if posted is not None:
            data["previous"] = {**data["previous"], **posted}
        key = await run_in_threadpool(secret.get)
        return _page("item.html", status_code=status_code, reviewer=reviewer, session=session, error=error,
                     token=csrf_token(key, request), **_confirmation(request), **data)

    async def item_get(request: Request) -> Response:
        return await item_page(request)

    async def item_post(request: Request) -> Response:
        key = await run_in_threadpool(secret.get)
        reviewer = await reviewer_of(request)
        try:
            form = await read_form(request)
        except ApiError as error:
            return _message("Bad request", error.message, status_code=error.status, reviewer=reviewer)
        if reviewer is None:
            return _message("Signed out", "Sign in again, then resubmit.", status_code=403)
        if not form_post_allowed(request, key, form.csrf_token):
            return _message("Refused", "This form did not come from this review page; reload the page and try "
                            "again.", status_code=403, reviewer=reviewer)
        session = await open_session(request, reviewer)
        if isinstance(session, HTMLResponse):
            return session
        items = await run_in_threadpool(lambda: list_items(labeling.catalog, session.session_id))
        item = _item_at(items, request.path_params["position"])
        if item is None:
            return _message("Not found", "This session has no such item.", status_code=404, reviewer=reviewer)
        schemas = await run_in_threadpool(lambda: labeling.schemas_of(session))
        answers: dict[str, Any] = {}
        try:
            if form.action == "skip":
                await run_in_threadpool(lambda: mark_skipped(labeling.catalog, session.session_id, item.trace_id, reviewer))
            else:
                answers, comments = answers_from_form(form, schemas)
                await run_in_threadpool(lambda: store_answers(
                    labeling.store, labeling.catalog, session, schemas, trace_id=item.trace_id, reviewer=reviewer,
                    answers=answers, comments=comments,
                ))
        except ApiError as error:
            return await item_page(request, error=error.message, status_code=error.status, posted=answers)
        following = next((other for other in items if other.position > item.position), None)
        target = (f"{REVIEW_PATH}/sessions/{session.session_id}/items/{following.position}" if following
                  else f"{REVIEW_PATH}/sessions/{session.session_id}")
        # The next page says what happened to this one ("Saved: ... item 3").
        target += f"?{'skipped' if form.action == 'skip' else 'saved'}={item.position}"
        return RedirectResponse(target, status_code=303)

    return [
        Route(f"{REVIEW_PATH}/", home, methods=["GET"]),
        Route(f"{REVIEW_PATH}/signin", signin_page, methods=["GET"]),
        Route(f"{REVIEW_PATH}/signin", signin, methods=["POST"]),
        Route(f"{REVIEW_PATH}/signout", signout, methods=["POST"]),
        Route(f"{REVIEW_PATH}/sessions/{{session_id}}", session_page, methods=["GET"]),
        Route(f"{REVIEW_PATH}/sessions/{{session_id}}/items/{{position}}", item_get, methods=["GET"]),
        Route(f"{REVIEW_PATH}/sessions/{{session_id}}/items/{{position}}", item_post, methods=["POST"]),
        Mount(f"{REVIEW_PATH}/static", app=StaticFiles(directory=_HERE / "static"), name="review_static"),
    ]


def _confirmation(request: Request) -> dict[str, int | None]:
    """``saved`` / ``skipped``: the item position a Submit or Skip just stored, from the redirect's
    query string (digits only; anything else shows nothing)."""
    found: dict[str, int | None] = {}
    for key in ("saved", "skipped"):
        raw = request.query_params.get(key, "")
        found[key] = int(raw) if raw.isdigit() and len(raw) < 10 else None
    return found


def _item_at(items: Sequence[ItemRecord], raw: str) -> ItemRecord | None:
    if not raw.isdigit():
        return None
    position = int(raw)
    return next((item for item in items if item.position == position), None)
