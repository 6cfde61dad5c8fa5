"""Passwords: argon2id off the event loop; a failed sign-in costs the same whether or not the user exists."""

from __future__ import annotations

import asyncio
import threading
from typing import Literal

import pytest
from argon2 import PasswordHasher

from corestore import passwords
from corestore.passwords import DUMMY_HASH, PARAMETERS, hash_password, needs_rehash, verify_password


async def test_hash_then_verify() -> None:
    stored = await hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert stored != await hash_password("correct horse"), "each hash has its own salt"
    assert await verify_password(stored, "correct horse")
    assert not await verify_password(stored, "Correct horse")


async def test_a_malformed_stored_hash_refuses_rather_than_raises() -> None:
    assert not await verify_password("not-a-hash", "anything")
    assert needs_rehash("not-a-hash")


async def test_only_hashes_made_with_other_parameters_need_rehash() -> None:
    assert not needs_rehash(await hash_password("pw"))
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw")
    assert await verify_password(weaker, "pw")
    assert needs_rehash(weaker)


def test_the_dummy_hash_costs_what_a_real_one_costs() -> None:
    """Same algorithm and parameters as real hashes, so verifying it takes the same work."""
    assert not needs_rehash(DUMMY_HASH)
    assert f"m={PARAMETERS.memory_cost},t={PARAMETERS.time_cost},p={PARAMETERS.parallelism}" in DUMMY_HASH


async def test_an_unknown_user_takes_the_dummy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []
    real = passwords.HASHER

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            verified.append(str(hash))
            return real.verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Spy.from_parameters(PARAMETERS))
    assert await verify_password(None, "whatever") is False
    assert verified == [DUMMY_HASH]
    stored = real.hash("whatever")
    assert await verify_password(stored, "whatever") is True
    assert verified == [DUMMY_HASH, stored]


async def test_the_event_loop_runs_while_a_password_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The work runs on another thread: the loop answers while a verification is under way."""
    threads: list[str] = []
    release = threading.Event()
    real = passwords.HASHER

    class Held(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            threads.append(threading.current_thread().name)
            release.wait(timeout=10)
            return real.verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Held.from_parameters(PARAMETERS))
    pending = asyncio.ensure_future(verify_password(None, "x"))
    await asyncio.sleep(0.05)
    assert not pending.done(), "the verification is held on its own thread while the loop runs"
    release.set()
    assert await pending is False
    assert threads == ["argon2_0"], "on the pool's own thread, not the loop's"
