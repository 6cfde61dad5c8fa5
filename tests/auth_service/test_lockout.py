"""Lockout: backoff after repeated failures, cleared by success or by time; bounded memory."""

from __future__ import annotations

import uuid

import pytest

from auth_service.errors import AccountLocked
from auth_service.oauth.lockout import LockoutPolicy

pytestmark = pytest.mark.unit

TENANT = uuid.UUID("3d2c1b0a-9f8e-4d7c-b6a5-948372615041")
ALICE = (TENANT, "alice@contoso.example")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy(clock: Clock) -> LockoutPolicy:
    return LockoutPolicy(threshold=5, window_s=900, base_backoff_s=60, max_backoff_s=900, clock=clock)


def fail(policy: LockoutPolicy, times: int, key: tuple[uuid.UUID, str] = ALICE) -> None:
    for _ in range(times):
        policy.check(key)
        policy.record_failure(key)


def test_locks_after_the_threshold_and_unlocks_when_the_backoff_ends(
    policy: LockoutPolicy, clock: Clock
) -> None:
    fail(policy, 4)
    policy.check(ALICE)
    policy.record_failure(ALICE)
    with pytest.raises(AccountLocked) as locked:
        policy.check(ALICE)
    assert locked.value.retry_after == pytest.approx(60)
    clock.now += 30
    with pytest.raises(AccountLocked) as locked:
        policy.check(ALICE)
    assert locked.value.retry_after == pytest.approx(30)
    clock.now += 30
    policy.check(ALICE)


def test_each_failure_after_a_lock_doubles_it_up_to_the_cap(policy: LockoutPolicy, clock: Clock) -> None:
    fail(policy, 5)
    backoffs = []
    for _ in range(6):
        with pytest.raises(AccountLocked) as locked:
            policy.check(ALICE)
        backoffs.append(locked.value.retry_after)
        clock.now += locked.value.retry_after
        fail(policy, 1)
    assert backoffs == [60, 120, 240, 480, 900, 900]


def test_success_clears_the_count(policy: LockoutPolicy) -> None:
    fail(policy, 4)
    policy.record_success(ALICE)
    fail(policy, 4)
    policy.check(ALICE)


def test_failures_spread_beyond_the_window_do_not_add_up(policy: LockoutPolicy, clock: Clock) -> None:
    for _ in range(10):
        fail(policy, 1)
        clock.now += 900
    policy.check(ALICE)


def test_usernames_are_case_insensitive_and_tenants_separate(policy: LockoutPolicy) -> None:
    fail(policy, 5, (TENANT, "Alice@Contoso.example"))
    with pytest.raises(AccountLocked):
        policy.check(ALICE)
    policy.check((uuid.uuid4(), ALICE[1]))
    policy.check((TENANT, "bob@contoso.example"))


def test_memory_is_bounded_and_stale_entries_are_forgotten(clock: Clock) -> None:
    policy = LockoutPolicy(window_s=60, max_entries=100, clock=clock)
    for i in range(1000):
        policy.record_failure((TENANT, f"user{i}"))
    assert len(policy) == 100
    clock.now += 61
    policy.record_failure(ALICE)
    assert len(policy) == 1
