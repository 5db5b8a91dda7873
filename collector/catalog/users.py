"""Named reviewers and their passwords.

SECURITY RULE: only a salted scrypt hash is stored (``scrypt$n$r$p$salt$hash``, hex), and a
presented password is compared with ``hmac.compare_digest``. A wrong name and a wrong password
take the same path (a dummy hash is checked for unknown names), so the answer time does not tell
which names exist. Every password set must meet :mod:`otel_feedback_collector.catalog.password_policy`. One
hash takes 16 MiB (128 * n * r bytes) for its duration, so callers that hash for strangers (the
review app's sign-in) bound how many run at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from otel_feedback_collector.catalog.database import CatalogDatabase
from otel_feedback_collector.catalog.password_policy import MAX_LENGTH, check_password, generate_password

_N, _R, _P = 2**14, 8, 1
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")
_DUMMY_HASH = f"scrypt${_N}${_R}${_P}${'00' * 16}${'00' * 32}"


class UserExists(ValueError):
    """A user with that name already exists."""


class UnknownUser(ValueError):
    """No user has that name."""


def check_user_name(name: str) -> str:
    """``name`` if it is a valid user name (letters, digits, ``_ . @ -``, at most 64); else ValueError."""
    if not isinstance(name, str) or not _USER_NAME.match(name):
        raise ValueError(
            f"A user name is 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit; got {name!r}."
        )
    return name


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash of ``password`` in the stored text form."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored`` (constant-time comparison)."""
    try:
        _scheme, n, r, p, salt, expected = stored.split("$")
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), expected)


def add_user(catalog: CatalogDatabase, name: str, *, password: str | None = None) -> str:
    """Create user ``name`` and return the password (generated when not given). A given password
    must meet the password rule (:class:`~otel_feedback_collector.catalog.password_policy.WeakPassword` otherwise)."""
    check_user_name(name)
    if password is None:
        password = generate_password(user_name=name)
    check_password(password, user_name=name)
    stored = hash_password(password)
    with catalog.transaction() as connection:
        if connection.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise UserExists(f"User {name!r} already exists; pick another name.")
        connection.execute(
            "INSERT INTO users VALUES (?, ?, ?)", [name, stored, dt.datetime.now(dt.timezone.utc)]
        )
    return password


def remove_user(catalog: CatalogDatabase, name: str) -> int:
    """Delete user ``name`` and end their review-app sessions; return how many sessions ended.

    Their feedback and labels stay: they are events in the Parquet log, signed with the name.
    A user added again later under the same name starts with no session."""
    check_user_name(name)
    with catalog.transaction() as connection:
        if not connection.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise UnknownUser(f"No user named {name!r}; `otel-feedback users list` shows the users.")
        ended = connection.execute(
            "SELECT count(*) FROM reviewer_sessions WHERE reviewer = ?", [name]
        ).fetchone()[0]
        connection.execute("DELETE FROM reviewer_sessions WHERE reviewer = ?", [name])
        connection.execute("DELETE FROM users WHERE name = ?", [name])
    return int(ended)


def list_users(catalog: CatalogDatabase) -> list[tuple[str, dt.datetime]]:
    """Every user as ``(name, created_time)``, by name."""
    with catalog.transaction() as connection:
        return [(row[0], row[1]) for row in connection.execute("SELECT name, created_time FROM users ORDER BY name").fetchall()]


def user_names(catalog: CatalogDatabase) -> set[str]:
    """The names of all users."""
    return {name for name, _created in list_users(catalog)}


def verify_user(catalog: CatalogDatabase, name: str, password: str) -> bool:
    """True when user ``name`` exists and ``password`` is theirs."""
    if len(password) > MAX_LENGTH:
        return False  # no stored password is this long; do not spend a hash on it
    with catalog.transaction() as connection:
        row = connection.execute("SELECT password_hash FROM users WHERE name = ?", [name]).fetchone()
    matches = password_matches(password, row[0] if row else _DUMMY_HASH)
    return matches and row is not None
