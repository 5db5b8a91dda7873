"""A simulated expert review: the review app's real HTTP flow, driven with ``urllib``.

In real use a domain expert opens ``session.url`` in a browser, signs in, reads the question,
the answer and the end user's feedback, answers each label schema and presses Submit. The demo
(and ``examples/quickstart.py``) does exactly those requests so the flow reaches evaluation
without a human: sign in through the sign-in form (with its CSRF token), open the session's
first item, read the item form's CSRF token and post the answers. Nothing here bypasses the
review app's checks: a wrong password, an unassigned reviewer or an invalid answer fails the
same way it would in a browser.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

CSRF_FIELD = "csrf_token"
_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="(?P<token>[^"]*)"', re.IGNORECASE)


class ReviewNotSubmitted(Exception):
    """The review app refused the simulated review (the message says why and what to do)."""


class _ReviewBrowser:
    """A cookie jar and an ``Origin`` header: what the review app expects from a browser."""

    def __init__(self, origin: str, *, timeout: float) -> None:
        self._origin = origin
        self._timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, url: str) -> tuple[str, str]:
        """``(final URL after redirects, page text)``."""
        return self._open(urllib.request.Request(url))

    def post_form(self, url: str, fields: Mapping[str, str]) -> tuple[str, str]:
        """Post an URL-encoded form as the page at ``url`` would; ``(final URL, page text)``."""
        body = urllib.parse.urlencode(dict(fields)).encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": self._origin,
        })
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[str, str]:
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return response.geturl(), response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            page = error.read().decode("utf-8", "replace")
            raise ReviewNotSubmitted(
                f"The review app answered {error.code} to {request.get_method()} {request.full_url}: "
                f"{_page_text(page)}"
            ) from None


def _csrf_token(page: str, *, where: str) -> str:
    found = _CSRF_INPUT.search(page)
    if found is None:
        raise ReviewNotSubmitted(f"No CSRF token in the {where}; is this an otel-feedback review app?")
    return found.group("token")


def _page_text(page: str) -> str:
    """The visible text of a short HTML page, for an error message."""
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())[:300]


def submit_review(
    session_url: str,
    *,
    reviewer: str,
    password: str,
    answers: Mapping[str, str],
    position: int = 1,
    timeout: float = 10.0,
) -> str:
    """Sign in to the review app as ``reviewer`` and submit ``answers`` (schema name → value)
    for the session's item at ``position`` (1-based); returns the page URL the app went to next.

    Raises :class:`ReviewNotSubmitted` when the app refuses the sign-in or the answers.
    """
    parts = urllib.parse.urlsplit(session_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    browser = _ReviewBrowser(origin, timeout=timeout)

    signin_url, signin_page = browser.get(session_url)  # signed out: redirected to the sign-in form
    if "/review/signin" not in signin_url:
        raise ReviewNotSubmitted(f"Expected {session_url} to ask for a sign-in; it showed {signin_url}.")
    next_page = urllib.parse.parse_qs(urllib.parse.urlsplit(signin_url).query).get("next", [parts.path])[0]
    landed, page = browser.post_form(f"{origin}/review/signin", {
        CSRF_FIELD: _csrf_token(signin_page, where="sign-in page"),
        "next": next_page, "name": reviewer, "password": password,
    })
    if "/review/signin" in urllib.parse.urlsplit(landed).path:
        raise ReviewNotSubmitted(f"Signing in as {reviewer!r} failed: {_page_text(page)}")

    item_url = f"{session_url.rstrip('/')}/items/{position}"
    _, item_page = browser.get(item_url)
    fields = {CSRF_FIELD: _csrf_token(item_page, where="review form"), "action": "submit"}
    fields.update({f"answer:{name}": value for name, value in answers.items()})
    landed, _ = browser.post_form(item_url, fields)
    return landed
