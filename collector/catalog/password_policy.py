"""What a reviewer's password must be, and how generated ones are made.

THE RULE (checked wherever a password is set: ``otel-feedback users add`` and
:func:`otel_feedback_collector.catalog.users.add_user`): 12 to 1024 characters; at least two kinds of character
(lower-case letters, upper-case letters, digits, anything else such as spaces or punctuation);
at least 5 different characters; not one of the common passwords below; not containing the user
name. Why these: sign-in is throttled (see :mod:`otel_feedback_collector.labeling.signin_throttle`), so an
online guesser gets a few hundred tries a day; the rules rule out the passwords those tries
would start with. The upper bound keeps a single hash cheap. Passphrases with a space or a
digit pass.
"""

from __future__ import annotations

import secrets

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_DISTINCT_CHARACTERS = 5
REQUIREMENTS = (
    f"A password needs {MIN_LENGTH} to {MAX_LENGTH} characters, at least two kinds of character (lower-case "
    "letters, upper-case letters, digits, others such as spaces or punctuation) and at least "
    f"{MIN_DISTINCT_CHARACTERS} different characters; it must not be a common password or contain the user name. "
    "Leave out --password-stdin to get a generated one."
)
# Common passwords of 12 or more characters (shorter ones fail the length rule anyway), lower case.
_COMMON = frozenset({
    "123456789012", "1234567890123", "12345678901234", "123456123456", "111111111111", "000000000000",
    "123123123123", "147258369147", "987654321098", "1q2w3e4r5t6y", "1qaz2wsx3edc", "qwertyuiop12",
    "qwertyuiopas", "qwerty123456", "123456qwerty", "qwertyqwerty", "asdfghjkl123", "zxcvbnm12345",
    "password1234", "password123!", "password2024", "password2025", "password2026", "passwordpassword",
    "p@ssw0rd1234", "p@ssword1234", "passw0rd1234", "iloveyou1234", "letmein12345", "welcome12345",
    "welcome123456", "changeme1234", "administrator", "admin1234567", "administrator1", "abc123456789",
    "abcdefghijkl", "abcd12345678", "trustno1trustno1", "football1234", "baseball1234", "monkey123456",
    "sunshine1234", "princess1234", "dragon123456", "superman1234", "starwars1234", "whatever1234",
    "secret123456", "mysecretpassword", "correcthorsebatterystaple", "correct horse battery staple",
})


class WeakPassword(ValueError):
    """A password that does not meet the password rule (the message says what is required)."""


def password_problem(password: str, *, user_name: str = "") -> str | None:
    """What is wrong with ``password`` in one sentence, or None when it meets the rule."""
    if len(password) < MIN_LENGTH:
        return f"This password has {len(password)} characters; it needs at least {MIN_LENGTH}."
    if len(password) > MAX_LENGTH:
        return f"This password has {len(password)} characters; at most {MAX_LENGTH} are allowed."
    kinds = {
        "lower" if char.islower() else "upper" if char.isupper() else "digit" if char.isdigit() else "other"
        for char in password
    }
    if len(kinds) < 2:
        return "This password uses only one kind of character."
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        return f"This password has fewer than {MIN_DISTINCT_CHARACTERS} different characters."
    if password.lower() in _COMMON:
        return "This password is on the list of common passwords."
    if len(user_name) >= 3 and user_name.lower() in password.lower():
        return "This password contains the user name."
    return None


def check_password(password: str, *, user_name: str = "") -> None:
    """Raise :class:`WeakPassword` (what is wrong, then what is required) unless ``password`` meets
    the rule."""
    problem = password_problem(password, user_name=user_name)
    if problem is not None:
        raise WeakPassword(f"{problem} {REQUIREMENTS}")


def generate_password(*, user_name: str = "") -> str:
    """A random password (96 bits, 16 URL-safe characters) that meets the rule."""
    while True:  # a draw fails the rule (e.g. letters only) a few times in a hundred
        password = secrets.token_urlsafe(12)
        if password_problem(password, user_name=user_name) is None:
            return password
