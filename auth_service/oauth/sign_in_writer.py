"""Sign-in log rows off the grant's critical path: queued in memory, committed in batches.

A grant answers as soon as its token is signed; its log row joins a bounded queue
that a background task commits at least every `interval_s` (one transaction per
scale unit for everything queued, `corestore.sign_in_log`). On shutdown (SIGTERM)
the queue is drained before the store closes.

A full queue drops the new row and counts it (`dropped`), never making a grant wait:
the queue fills only when a primary stays unreachable, and then sign-ins keep
working while their log rows are lost, which the README states as the trade-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from corestore.sign_in_log import SignInRecord

if TYPE_CHECKING:
    from corestore.store import CoreStore

log = logging.getLogger(__name__)
INTERVAL_S = 0.1
CAPACITY = 50_000
DRAIN_ATTEMPTS = 3


class SignInWriter:
    def __init__(self, store: CoreStore, interval_s: float = INTERVAL_S, capacity: int = CAPACITY) -> None:
        self.store = store
        self.interval_s = interval_s
        self.capacity = capacity
        self.dropped = 0
        self._pending: list[SignInRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def record(self, record: SignInRecord) -> None:
        """Queue a row; never waits. A full queue drops it and counts it."""
        if len(self._pending) >= self.capacity:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("sign-in log queue full: %d rows dropped so far", self.dropped)
            return
        self._pending.append(record)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Stop the periodic flush (a flush under way finishes), then commit what is still queued."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        for _ in range(DRAIN_ATTEMPTS):
            if not self._pending:
                return
            await self.flush()
        if self._pending:
            log.error("sign-in log: %d rows not written at shutdown", len(self._pending))

    async def flush(self) -> None:
        """Commit everything queued now; rows of a unit that failed go back to the front of the queue."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        unwritten = await self.store.sign_in_log.write(batch)
        room = max(0, self.capacity - len(self._pending))
        self.dropped += max(0, len(unwritten) - room)
        self._pending[:0] = unwritten[:room]

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)
            try:
                await self.flush()
            except Exception:
                log.exception("sign-in log flush failed")
