"""Throttling as Graph does it: a token bucket per (application, tenant), and a write cap per tenant.

In-memory per front-end instance, like Graph's per-instance limits: a client that
spreads load over instances gets more, which is the point of scaling out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    requests_per_second: float = 200.0
    request_burst: int = 400
    writes_per_second: float = 50.0
    write_burst: int = 100


class Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many requests; retry after {retry_after:.1f}s")
        self.retry_after = retry_after


@dataclass
class TokenBuckets:
    """Buckets keyed by anything hashable; the least recently used are evicted past `max_keys`."""

    rate: float
    burst: int
    max_keys: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[Hashable, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: Hashable) -> None:
        """Spend one token or raise `Throttled` with the time until one is back."""
        now = self.clock()
        tokens, stamp = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise Throttled((1.0 - tokens) / self.rate)
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


class Throttle:
    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.requests = TokenBuckets(limits.requests_per_second, limits.request_burst, clock=clock)
        self.writes = TokenBuckets(limits.writes_per_second, limits.write_burst, clock=clock)

    def check(self, tenant: Hashable, client: Hashable, write: bool) -> None:
        self.requests.take((tenant, client))
        if write:
            self.writes.take(tenant)
