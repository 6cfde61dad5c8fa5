"""Token buckets: a burst is allowed, then 429 with the time until the next token."""

from __future__ import annotations

import pytest

from auth_service.http.throttle import Limits, Throttle, Throttled, TokenBuckets

pytestmark = pytest.mark.unit


def test_bucket_allows_burst_then_throttles_then_refills() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    for _ in range(3):
        buckets.take("k")
    with pytest.raises(Throttled) as info:
        buckets.take("k")
    assert info.value.retry_after == pytest.approx(0.5)
    now[0] = 0.5
    buckets.take("k")
    buckets.take("other")


def test_writes_are_capped_per_tenant_across_clients() -> None:
    now = [0.0]
    throttle = Throttle(
        Limits(requests_per_second=100, request_burst=100, writes_per_second=1, write_burst=2),
        clock=lambda: now[0],
    )
    throttle.check("tenant", "app1", write=True)
    throttle.check("tenant", "app2", write=True)
    with pytest.raises(Throttled):
        throttle.check("tenant", "app3", write=True)
    throttle.check("tenant", "app3", write=False)
    throttle.check("other-tenant", "app1", write=True)


def test_bucket_map_is_bounded() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=10)
    for i in range(100):
        buckets.take(i)
    assert len(buckets._buckets) == 10
