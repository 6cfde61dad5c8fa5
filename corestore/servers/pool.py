"""One server's connections of the app role, taken and given back without a cost per use.

asyncpg's own `Pool` was measured and refused for this: its `acquire` and `release` cost
~22 us of client CPU per use under uvloop, as much as a point read's whole statement (each
use builds a proxy and a future, and a release runs in a task of its own under
`asyncio.shield`). Taking an idle connection here is a list pop, giving it back an append.
Left out on purpose: a proxy per use (no caller keeps a connection past its block), a reset
query (nothing session-level is ever set, see `corestore.pools`), setup hooks. Kept: a
connection idle for `IDLE_LIFETIME_S` is closed (asyncpg's default too), so a server this
process stopped using (another geo's unit a test once read, a tenant's old unit) is let go.

A connection given back that is not clean (closed, inside a transaction, or still
cancelling a statement a deadline cut off) is terminated, and its place goes to the next
caller waiting for one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

IDLE_LIFETIME_S = 300.0
CLOSE_TIMEOUT_S = 1.0

if TYPE_CHECKING:
    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record]
Connect = Callable[[], Awaitable["Conn"]]


class PoolClosed(asyncpg.InterfaceError):
    """Taken from a pool after `close`; an `InterfaceError`, as asyncpg's pool raises."""


class ServerPool:
    """Up to `size` connections made by `connect` when first needed, the last given back taken first."""

    def __init__(self, connect: Connect, size: int, idle_s: float = IDLE_LIFETIME_S) -> None:
        if size < 1:
            raise ValueError("a pool needs room for at least one connection")
        self._connect = connect
        self.size = size
        self.idle_s = idle_s
        self._idle: list[tuple[Conn, float]] = []  # (connection, when given back), oldest first
        self._open = 0  # open, or being opened
        self._waiters: deque[asyncio.Future[Conn | None]] = deque()
        self._closed = False
        self._sweep: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def take(self) -> Conn:
        """An idle connection, else a new one while there is room, else the next one given back."""
        while True:
            if self._closed:
                raise PoolClosed("the pool is closed")
            idle = self._idle
            while idle:
                conn = idle.pop()[0]
                if not conn.is_closed():
                    return conn
                self._open -= 1
            if self._open < self.size:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._forget()
                    raise
            handed = await self._wait()
            if handed is not None:
                return handed
            # None: a place came free; try again from the top.

    async def _wait(self) -> Conn | None:
        waiter: asyncio.Future[Conn | None]
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                handed = waiter.result()  # handed to us as we were cancelled: pass it on
                if handed is None:
                    self._wake()
                else:
                    self.give(handed)
            else:
                waiter.cancel()
            raise

    def give(self, conn: Conn) -> None:
        """Back to the pool (to a waiting caller first), or terminated if it is not clean."""
        if self._closed or conn.is_closed() or conn.is_in_transaction() or _cancelling(conn):
            conn.terminate()
            self._forget()
            return
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append((conn, time.monotonic()))
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(self.idle_s, self._expire)

    def _expire(self) -> None:
        """Close the connections idle for `idle_s`; look again when the next one will be."""
        self._sweep = None
        cutoff = time.monotonic() - self.idle_s
        expired = [conn for conn, since in self._idle if since <= cutoff]
        self._idle = [(conn, since) for conn, since in self._idle if since > cutoff]
        self._open -= len(expired)
        for conn in expired:
            task = asyncio.get_running_loop().create_task(_close(conn))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        if self._idle:
            wait = self._idle[0][1] - cutoff
            self._sweep = asyncio.get_running_loop().call_later(wait, self._expire)

    def _forget(self) -> None:
        """A connection is gone: its place goes to a waiting caller, who opens a new one."""
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    @asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[Conn]:
        """A connection for the block; `timeout` bounds the wait for one."""
        async with asyncio.timeout(timeout):
            conn = await self.take()
        try:
            yield conn
        finally:
            self.give(conn)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        conn = await self.take()
        try:
            return await conn.fetchval(sql, *args)
        finally:
            self.give(conn)

    @property
    def open(self) -> int:
        return self._open

    @property
    def in_use(self) -> int:
        return self._open - len(self._idle)

    async def close(self) -> None:
        """Idle connections close; one in use is terminated when given back; waiters get `PoolClosed`."""
        self._closed = True
        if self._sweep is not None:
            self._sweep.cancel()
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed("the pool is closed"))
        await asyncio.gather(*(_close(conn) for conn, _ in idle), *self._closing)


async def _close(conn: Conn) -> None:
    """Gracefully (the server logs no broken connection), else at once."""
    try:
        await conn.close(timeout=CLOSE_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()


def _cancelling(conn: Conn) -> bool:
    """Whether a statement cut off (its task cancelled) is still being cancelled on the server: the
    connection takes no statement until then. asyncpg's own pool asks its protocol the same."""
    cancelling: bool = conn._protocol._is_cancelling()  # type: ignore[attr-defined]
    return cancelling
