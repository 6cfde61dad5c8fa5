"""Backoff after repeated failed sign-ins, per (tenant, username): in memory, bounded.

Per front-end instance, like throttling: it slows password guessing against one
account without a shared store. The answer while locked is the same whether or not
the user exists, since the key is the name that was tried.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from auth_service.errors import AccountLocked

LockoutKey = tuple[uuid.UUID, str]


@dataclass(frozen=True)
class _Failures:
    count: int
    last_at: float
    locked_until: float

    def stale(self, now: float, window_s: float) -> bool:
        """No failure, and no lock, for a whole window: the account starts afresh."""
        return now - max(self.last_at, self.locked_until) >= window_s


class LockoutPolicy:
    """`threshold` failures, each within `window_s` of the previous, lock the account for
    `base_backoff_s`; each further failure doubles the lock, up to `max_backoff_s`."""

    def __init__(
        self,
        *,
        threshold: int = 5,
        window_s: float = 900.0,
        base_backoff_s: float = 60.0,
        max_backoff_s: float = 900.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[LockoutKey, _Failures] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def check(self, key: LockoutKey) -> None:
        """Raise `AccountLocked` while the account is backing off; call before checking the password."""
        now = self._clock()
        entry = self._entries.get(_normal(key))
        if entry is not None and entry.locked_until > now:
            raise AccountLocked(entry.locked_until - now)

    def record_failure(self, key: LockoutKey) -> None:
        now = self._clock()
        key = _normal(key)
        entry = self._entries.pop(key, None)
        if entry is not None and entry.stale(now, self.window_s):
            entry = None
        count = 1 if entry is None else entry.count + 1
        locked_until = entry.locked_until if entry is not None else 0.0
        if count >= self.threshold:
            locked_until = now + self.backoff_s(count)
        self._entries[key] = _Failures(count, now, locked_until)
        self._evict(now)

    def record_success(self, key: LockoutKey) -> None:
        self._entries.pop(_normal(key), None)

    def backoff_s(self, failures: int) -> float:
        doublings = min(failures - self.threshold, 32)
        return float(min(self.max_backoff_s, self.base_backoff_s * 2**doublings))

    def _evict(self, now: float) -> None:
        """Forget the least recently failed accounts: stale ones first, then any past the cap."""
        entries = self._entries
        while entries and next(iter(entries.values())).stale(now, self.window_s):
            entries.popitem(last=False)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)


def _normal(key: LockoutKey) -> LockoutKey:
    tenant_id, username = key
    return tenant_id, username.lower()
