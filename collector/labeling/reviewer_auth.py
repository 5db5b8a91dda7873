"""Review-app sign-in and form protection.

SECURITY RULES:

* A signed-in reviewer carries one cookie, ``name.expiry.signature`` (the name base64url), signed
  with HMAC-SHA256 under a random secret kept in the catalog; it is ``HttpOnly`` and
  ``SameSite=Lax``, so page scripts cannot read it and other sites' POSTs do not carry it.
  Signatures are compared in constant time; an expired or altered cookie means "signed out".
* Every form POST of the review app must (1) come from this origin — an ``Origin`` header, when
  present, must equal the request's own origin, and ``Sec-Fetch-Site: cross-site`` is refused —
  and (2) carry the CSRF token of the reviewer's cookie (an HMAC of it) in a hidden field. A page
  on another site can get neither right.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from starlette.requests import Request

from collector.ui.cross_site import own_origin

COOKIE_NAME = "otel_feedback_reviewer"
COOKIE_LIFETIME_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"


def _sign(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def make_cookie(secret: bytes, reviewer: str, *, now: float | None = None) -> str:
    """The signed cookie value for ``reviewer``."""
    expiry = int((now if now is not None else time.time()) + COOKIE_LIFETIME_SECONDS)
    name = base64.urlsafe_b64encode(reviewer.encode("utf-8")).decode("ascii").rstrip("=")
    payload = f"{name}.{expiry}"
    return f"{payload}.{_sign(secret, payload)}"


def reviewer_from_cookie(secret: bytes, value: str | None, *, now: float | None = None) -> str | None:
    """The reviewer a cookie value names, or None if it is missing, altered or expired."""
    if not value or value.count(".") != 2:
        return None
    name, expiry, signature = value.split(".")
    if not hmac.compare_digest(signature, _sign(secret, f"{name}.{expiry}")):
        return None
    try:
        if int(expiry) < (now if now is not None else time.time()):
            return None
        return base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode("utf-8")
    except ValueError:
        return None


def signed_in_reviewer(request: Request, secret: bytes) -> str | None:
    """The reviewer of this request's cookie, or None."""
    return reviewer_from_cookie(secret, request.cookies.get(COOKIE_NAME))


def csrf_token(secret: bytes, request: Request) -> str:
    """The CSRF token for this request's cookie (empty cookie: a token for signed-out forms)."""
    return _sign(secret, "csrf:" + (request.cookies.get(COOKIE_NAME) or "signed-out"))


def same_origin_post(request: Request) -> bool:
    """True unless the browser says this POST comes from another site (``Origin`` /
    ``Sec-Fetch-Site``)."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    origin = headers.get("origin")
    if origin is not None:
        return origin.strip().lower().rstrip("/") == own_origin(request.scope, headers)
    return headers.get("sec-fetch-site", "").strip().lower() != "cross-site"


def form_post_allowed(request: Request, secret: bytes, presented_token: str | None) -> bool:
    """Both rules for a review-app form POST: same origin and the right CSRF token."""
    if not same_origin_post(request) or not presented_token:
        return False
    return hmac.compare_digest(presented_token, csrf_token(secret, request))
