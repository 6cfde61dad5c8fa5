"""Deadlines on the hot path without a timer per call: one periodic check per event loop.

`asyncio.timeout` starts and stops an event-loop timer per use (~4 us under uvloop, and a
front-end read used two: the request's deadline and the read's). A `Deadline` only enters
itself in its loop's `Watchdog`, which looks every `TICK_S` while any deadline is open and
cancels the tasks whose time has passed. So a deadline fires up to `TICK_S` late: right for
the backstops it serves (seconds long), wrong for anything that needs precision.

Past its time a deadline behaves as `asyncio.timeout` does: the task is cancelled, and the
block ends in `TimeoutError` unless someone else cancelled the task too.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

TICK_S = 0.1


class Watchdog:
    """The open deadlines of one event loop, checked every `TICK_S` while there are any."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.open: dict[Deadline, None] = {}
        self._check: asyncio.TimerHandle | None = None

    def enter(self, deadline: Deadline) -> None:
        self.open[deadline] = None
        if self._check is None:
            self._check = self.loop.call_later(TICK_S, self._expire)

    def _expire(self) -> None:
        self._check = None
        now = self.loop.time()
        for deadline in [d for d in self.open if d.when <= now]:
            del self.open[deadline]
            deadline.expire()
        if self.open:
            self._check = self.loop.call_later(TICK_S, self._expire)


_recent: Watchdog | None = None


def _watchdog(loop: asyncio.AbstractEventLoop) -> Watchdog:
    """The watchdog of `loop` (a process runs one loop; tests, one after another). A deadline
    keeps the watchdog it entered, and a watchdog checks while it has open deadlines, so a
    second one for a loop would be redundant, never wrong."""
    global _recent
    found = _recent
    if found is None or found.loop is not loop:
        found = _recent = Watchdog(loop)
    return found


class Deadline:
    """`with Deadline(seconds):` in a task; `expired`: whether this deadline ended the block."""

    __slots__ = ("_cancelling", "_task", "_watchdog", "expired", "seconds", "when")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False

    def __enter__(self) -> Deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline needs a running task")
        loop = task.get_loop()
        watchdog = _watchdog(loop)
        self._task, self._cancelling, self._watchdog = task, task.cancelling(), watchdog
        self.when = loop.time() + self.seconds
        watchdog.enter(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._watchdog.open.pop(self, None)
        cancelled = kind is not None and issubclass(kind, asyncio.CancelledError)
        if self.expired and self._task.uncancel() <= self._cancelling and cancelled:
            raise TimeoutError(f"deadline of {self.seconds:g}s passed") from error

    def expire(self) -> None:
        self.expired = True
        self._task.cancel()
