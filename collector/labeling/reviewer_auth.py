"""Review-app sign-in and form protection.

SECURITY RULES:

* A signed-in reviewer carries one cookie, ``session_id.signature``: a random session id recorded
  in the catalog (:mod:`otel_feedback_collector.catalog.reviewer_sessions`) and an HMAC-SHA256 of it under a
  random secret kept in the catalog, so a forged cookie is refused without a catalog lookup. It is
  ``HttpOnly`` and ``SameSite=Lax``, so page scripts cannot read it and other sites' POSTs do not
  carry it. Signatures are compared in constant time. The cookie signs its reviewer in only while
  the catalog's session lives: signing out ends it at once, and it expires after 12 h.
* Every form POST of the review app must (1) come from this origin — an ``Origin`` header, when
  present, must equal the request's own origin, and ``Sec-Fetch-Site: cross-site`` is refused —
  and (2) carry the CSRF token of the reviewer's cookie (an HMAC of it) in a hidden field. A page
  on another site can get neither right.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from otel_feedback_collector.ui.cross_site import from_allowed_site

COOKIE_NAME = "otel_feedback_reviewer"
COOKIE_LIFETIME_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"


def _sign(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def make_cookie(secret: bytes, session_id: str) -> str:
    """The signed cookie value for a session id."""
    return f"{session_id}.{_sign(secret, 'session:' + session_id)}"


def session_id_from_cookie(secret: bytes, value: str | None) -> str | None:
    """The session id a cookie value carries, or None when it is missing or its signature is wrong.
    (Whether that session still lives is the catalog's to say.)"""
    if not value or value.count(".") != 1:
        return None
    session_id, signature = value.split(".")
    if not session_id or not _same(signature, _sign(secret, "session:" + session_id)):
        return None
    return session_id


def cookie_session_id(request: Request, secret: bytes) -> str | None:
    """The session id of this request's cookie, or None."""
    return session_id_from_cookie(secret, request.cookies.get(COOKIE_NAME))


def csrf_token(secret: bytes, request: Request) -> str:
    """The CSRF token for this request's cookie (empty cookie: a token for signed-out forms)."""
    return _sign(secret, "csrf:" + (request.cookies.get(COOKIE_NAME) or "signed-out"))


def same_origin_post(request: Request) -> bool:
    """True unless the browser says this POST comes from another site (``Origin`` /
    ``Sec-Fetch-Site``)."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    return from_allowed_site(request.scope, headers)


def form_post_allowed(request: Request, secret: bytes, presented_token: str | None) -> bool:
    """Both rules for a review-app form POST: same origin and the right CSRF token."""
    if not same_origin_post(request) or not presented_token:
        return False
    return _same(presented_token, csrf_token(secret, request))


def _same(presented: str, expected: str) -> bool:
    # Bytes: compare_digest raises TypeError on non-ASCII text, which a client can send.
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))
