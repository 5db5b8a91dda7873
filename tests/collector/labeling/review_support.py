"""Helpers for the review-app tests: the test users' passwords, signing in, reading a form's token."""

from __future__ import annotations

import re

import httpx

PASSWORDS = {"alice": "review-pw-alpha-1", "bob": "review-pw-bravo-2", "mallory": "review-pw-mike-3"}


def sign_in(base_url: str, name: str, password: str | None = None) -> httpx.Client:
    """An httpx client signed in to the review app as ``name`` (the caller closes it)."""
    client = httpx.Client(base_url=base_url, timeout=30)
    page = client.get("/review/signin")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/review/signin", data={"csrf_token": token, "name": name,
                                                 "password": password or PASSWORDS[name], "next": "/review/"})
    assert answer.status_code == 303, answer.text
    return client


def form_token(page_html: str) -> str:
    """The CSRF token in a review page's form."""
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page_html).group(1)  # type: ignore[union-attr]
