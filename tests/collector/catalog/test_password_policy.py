"""The password rule: weak passwords are refused wherever a password is set (library and
``users add --password-stdin``) with a message saying what is required; good ones pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.password_policy import REQUIREMENTS, WeakPassword, check_password, generate_password
from otel_feedback_collector.catalog.users import add_user, user_names, verify_user


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("", "0 characters"),
        ("Sh0rt-pw!", "9 characters"),
        ("x" * 1025, "at most 1024"),
        ("abcdefghijklmnop", "one kind of character"),
        ("123456789012345", "one kind of character"),
        ("aaaaaaaaaaa1", "fewer than 5 different characters"),
        ("abab12abab12", "fewer than 5 different characters"),
        ("Password1234", "common passwords"),
        ("1q2w3e4r5t6y", "common passwords"),
        ("my-name-is-alice!", "contains the user name"),
    ],
)
def test_weak_passwords_are_refused_with_what_is_required(password: str, problem: str) -> None:
    with pytest.raises(WeakPassword) as caught:
        check_password(password, user_name="Alice")
    assert problem in str(caught.value)
    assert "at least 12" in str(caught.value) or "12 to 1024" in str(caught.value)


@pytest.mark.parametrize("password", ["review-pw-alpha-1", "correct horse battery", "Tr0ub4dor&3xyz", "zxcv bnm qwerty"])
def test_good_passwords_pass(password: str) -> None:
    check_password(password, user_name="alice")


def test_generated_passwords_always_meet_the_rule() -> None:
    for _ in range(300):
        check_password(generate_password(user_name="al"), user_name="al")


def test_add_user_refuses_a_weak_password_and_stores_nothing(tmp_path: Path) -> None:
    catalog = CatalogDatabase(tmp_path / "data")
    with pytest.raises(WeakPassword):
        add_user(catalog, "alice", password="alice-pw-1")
    assert user_names(catalog) == set()
    assert add_user(catalog, "alice", password="review-pw-alpha-1") == "review-pw-alpha-1"
    generated = add_user(catalog, "bob")
    assert verify_user(catalog, "bob", generated) and verify_user(catalog, "alice", "review-pw-alpha-1")


def users_add(data: Path, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "users", "add", "carol", "--data", str(data), "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, timeout=60,
    )


def test_users_add_password_stdin_refuses_weak_passwords(tmp_path: Path) -> None:
    refused = users_add(tmp_path / "data", "carol123")
    assert refused.returncode == 1
    assert "8 characters" in refused.stderr and REQUIREMENTS in refused.stderr
    assert user_names(CatalogDatabase(tmp_path / "data")) == set()
    accepted = users_add(tmp_path / "data", "long enough pass 7")
    assert accepted.returncode == 0, accepted.stderr
    assert verify_user(CatalogDatabase(tmp_path / "data"), "carol", "long enough pass 7")
