"""A server's pool: bounded, fair to waiters, and never lends a connection that is not clean."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import asyncpg
import pytest

from corestore.pools import Connection, connect
from corestore.roles import dsn
from corestore.servers.pool import PoolClosed, ServerPool
from scale_units.state import ClusterState


def _pool(cluster: ClusterState, size: int, idle_s: float = 60.0) -> ServerPool:
    primary = cluster.discover().scale_units["emea-1"].primary.name
    return ServerPool(partial(connect, dsn(cluster, primary, "app"), {}), size, idle_s)


async def _backend(conn: Connection) -> int:
    pid: int = await conn.fetchval("SELECT pg_backend_pid()")
    return pid


async def test_a_connection_given_back_is_lent_again(cluster: ClusterState) -> None:
    pool = _pool(cluster, 2)
    try:
        async with pool.acquire() as conn:
            first = await _backend(conn)
        async with pool.acquire() as conn:
            assert await _backend(conn) == first
        assert (pool.open, pool.in_use) == (1, 0)
    finally:
        await pool.close()


async def test_a_full_pool_makes_the_caller_wait_for_the_next_connection_given_back(
    cluster: ClusterState,
) -> None:
    pool = _pool(cluster, 1)
    try:
        held = await pool.take()
        waiting = asyncio.ensure_future(pool.take())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        assert pool.open == 1
        pool.give(held)
        handed = await waiting
        assert await _backend(handed) == await _backend(held)
        with pytest.raises(TimeoutError):
            async with pool.acquire(timeout=0.05):
                pass
        pool.give(handed)
    finally:
        await pool.close()


async def test_a_waiter_that_gives_up_takes_no_connection_with_it(cluster: ClusterState) -> None:
    pool = _pool(cluster, 1)
    try:
        held = await pool.take()
        gone = asyncio.ensure_future(pool.take())
        await asyncio.sleep(0.05)
        gone.cancel()
        pool.give(held)
        with pytest.raises(asyncio.CancelledError):
            await gone
        async with pool.acquire(timeout=1.0) as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def _cut_off(conn: Connection) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await conn.fetchval("SELECT pg_sleep(5)")


async def _left_in_a_transaction(conn: Connection) -> None:
    await conn.execute("BEGIN")


@pytest.mark.parametrize("spoil", [_cut_off, _left_in_a_transaction], ids=lambda spoil: spoil.__name__[1:])
async def test_a_connection_given_back_unclean_is_not_lent_again(
    cluster: ClusterState, spoil: Callable[[Connection], Awaitable[None]]
) -> None:
    pool = _pool(cluster, 1)
    try:
        conn = await pool.take()
        spoiled = await _backend(conn)
        await spoil(conn)
        pool.give(conn)
        async with pool.acquire(timeout=2.0) as fresh:
            assert await _backend(fresh) != spoiled
            assert not fresh.is_in_transaction()
            assert await fresh.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_a_closed_pool_refuses_and_wakes_its_waiters(cluster: ClusterState) -> None:
    pool = _pool(cluster, 1)
    held = await pool.take()
    waiting = asyncio.ensure_future(pool.take())
    await asyncio.sleep(0.05)
    await pool.close()
    with pytest.raises(PoolClosed):
        await waiting
    pool.give(held)
    assert held.is_closed()
    with pytest.raises(asyncpg.InterfaceError):
        await pool.take()


async def test_a_connection_idle_past_its_lifetime_is_closed(cluster: ClusterState) -> None:
    pool = _pool(cluster, 2, idle_s=0.2)
    try:
        async with pool.acquire() as conn:
            pass
        assert pool.open == 1
        for _ in range(50):
            if conn.is_closed():
                break
            await asyncio.sleep(0.05)
        assert conn.is_closed()
        assert (pool.open, pool.in_use) == (0, 0)
        async with pool.acquire() as fresh:
            assert await fresh.fetchval("SELECT 1") == 1
    finally:
        await pool.close()
