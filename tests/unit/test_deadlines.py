"""A `Deadline` ends a stuck block as `asyncio.timeout` would, and nothing else."""

from __future__ import annotations

import asyncio

import pytest

from corestore.deadlines import Deadline

pytestmark = pytest.mark.unit


async def test_a_stuck_block_ends_in_timeout_error() -> None:
    deadline = Deadline(0.01)
    with pytest.raises(TimeoutError), deadline:
        await asyncio.sleep(3600)
    assert deadline.expired


async def test_a_block_that_finishes_is_left_alone() -> None:
    with Deadline(0.01) as deadline:
        await asyncio.sleep(0)
    await asyncio.sleep(0.2)  # past its time, after the block: nothing is cancelled
    assert not deadline.expired


async def test_an_error_of_the_block_is_its_own() -> None:
    with pytest.raises(TimeoutError, match="the block's own"), Deadline(60):
        raise TimeoutError("the block's own")


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    entered = asyncio.Event()

    async def waits() -> None:
        with Deadline(60):
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(waits())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_inner_of_two_deadlines_ends_only_its_block() -> None:
    with Deadline(60) as outer:
        with pytest.raises(TimeoutError), Deadline(0.01):
            await asyncio.sleep(3600)
        await asyncio.sleep(0)  # the task goes on, not cancelled
    assert not outer.expired
