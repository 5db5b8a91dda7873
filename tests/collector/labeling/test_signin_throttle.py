"""The sign-in throttle's arithmetic, on a clock the test moves: free failures, exponential
back-off, per-name and per-address keys, success, forgetting, bounded memory."""

from __future__ import annotations

import asyncio

import pytest

from otel_feedback_collector.labeling.hash_work_limit import HashWorkLimit
from otel_feedback_collector.labeling.signin_throttle import SigninThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def fail(throttle: SigninThrottle, account: str, address: str = "10.0.0.1") -> float:
    return throttle.begin_attempt(account, address)  # counted as a failure unless succeeded()


def test_five_free_failures_per_name_then_exponential_back_off(clock: Clock) -> None:
    throttle = SigninThrottle(clock=clock)
    for _ in range(5):
        assert fail(throttle, "alice") == 0.0
    assert fail(throttle, "alice") == 1.0 and throttle.wait_seconds("alice", "10.0.0.1") == 1.0
    clock.now += 1.0
    assert fail(throttle, "alice") == 0.0  # the 6th failure
    assert fail(throttle, "ALICE ") == 2.0  # names are compared trimmed, lower case
    clock.now += 2.0
    assert fail(throttle, "alice") == 0.0
    assert fail(throttle, "alice") == 4.0
    assert throttle.wait_seconds("bob", "10.0.0.1") == 0.0  # another name is not locked


def test_the_wait_is_capped(clock: Clock) -> None:
    throttle = SigninThrottle(clock=clock, max_delay=900.0)
    for _ in range(40):
        clock.now += 10_000.0 if throttle.wait_seconds("alice", "a") else 0.0
        fail(throttle, "alice", "a")
    assert throttle.wait_seconds("alice", "a") == 900.0


def test_a_success_takes_its_attempt_back(clock: Clock) -> None:
    throttle = SigninThrottle(clock=clock)
    for _ in range(5):
        fail(throttle, "alice")
    assert fail(throttle, "alice") > 0
    clock.now += 1.0
    assert fail(throttle, "alice") == 0.0
    throttle.succeeded("alice", "10.0.0.1")
    for _ in range(5):
        assert fail(throttle, "alice") == 0.0


def test_an_address_guessing_many_names_is_throttled(clock: Clock) -> None:
    throttle = SigninThrottle(clock=clock)
    for number in range(20):
        assert fail(throttle, f"user{number}") == 0.0
    assert fail(throttle, "alice") == 1.0
    assert throttle.wait_seconds("alice", "10.0.0.2") == 0.0  # from elsewhere alice may still try


def test_parallel_attempts_are_counted_before_they_are_answered(clock: Clock) -> None:
    throttle = SigninThrottle(clock=clock)
    started = [throttle.begin_attempt("alice", f"10.0.0.{n}") for n in range(8)]
    assert started == [0.0] * 5 + [1.0] * 3


def test_records_are_forgotten_after_a_day_and_bounded_in_number(clock: Clock) -> None:
    throttle = SigninThrottle(clock=clock, max_entries=50)
    for _ in range(6):
        fail(throttle, "alice")
    clock.now += 86_400.0
    assert throttle.wait_seconds("alice", "10.0.0.1") == 0.0
    for number in range(200):
        throttle.begin_attempt(f"user{number}", f"10.1.{number}.1")
    assert len(throttle._records) <= 50


def test_the_hash_limit_gives_turns_up_to_its_bound_and_refuses_after_the_wait() -> None:
    async def run() -> list[bool]:
        limit = HashWorkLimit(max_concurrent=2, wait_seconds=0.05)
        seen: list[bool] = []
        async with limit.turn() as first, limit.turn() as second:
            async with limit.turn() as third:
                seen += [first, second, third]
        async with limit.turn() as again:
            seen.append(again)
        return seen

    assert asyncio.run(run()) == [True, True, False, True]
