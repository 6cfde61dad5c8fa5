"""The HTTP families, counted in plain Python on every request and turned into Prometheus
families only when scraped: a dict add and a bisect per request (prometheus-client's own
Counter and Histogram take a lock each and walk every bucket: ~3x the cost on this path).

Labels are bounded by construction: route templates (never raw paths), methods, statuses.
429s and the geo fence's 307s and 421s are read from the same counts, not counted again.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

# Requests take ~1 ms to the 15 s deadline: buckets from 1 ms to 15 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
BOUNDS = (*(str(b) for b in BUCKETS), "+Inf")
UNMATCHED = "unmatched"  # answered before routing (the geo fence, a refused header) or no route
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
THROTTLED = 429
GEO_FENCE = (307, 421)


class HttpCounts(Collector):
    def __init__(self) -> None:
        self.in_flight = 0
        self.deadline_exceeded = 0
        self._answers: dict[tuple[str, str, int], int] = {}
        # (route, method) -> count per bucket (the last one past every bound), and the seconds' sum
        self._latency: dict[tuple[str, str], tuple[list[int], list[float]]] = {}

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request. An unknown method counts as OTHER (a client chooses it)."""
        method = method if method in METHODS else "OTHER"
        key = (route, method, status)
        self._answers[key] = self._answers.get(key, 0) + 1
        found = self._latency.get(key[:2])
        if found is None:
            found = self._latency[route, method] = ([0] * (len(BUCKETS) + 1), [0.0])
        found[0][bisect_left(BUCKETS, seconds)] += 1
        found[1][0] += seconds

    def collect(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            "corestore_http_requests", "HTTP requests answered", labels=("route", "method", "status")
        )
        for (route, method, status), count in sorted(self._answers.items()):
            requests.add_metric((route, method, str(status)), count)
        yield requests
        latency = HistogramMetricFamily(
            "corestore_http_request_duration_seconds",
            "Time to answer, by route template",
            labels=("route", "method"),
        )
        for labels, (counts, total) in sorted(self._latency.items()):
            cumulative, running = [], 0
            for bound, count in zip(BOUNDS, counts, strict=True):
                running += count
                cumulative.append((bound, running))
            latency.add_metric(labels, cumulative, total[0])
        yield latency
        yield GaugeMetricFamily(
            "corestore_http_requests_in_flight", "Requests being answered", value=self.in_flight
        )
        yield CounterMetricFamily(
            "corestore_http_deadline_exceeded",
            "Requests cut off by their deadline (503)",
            value=self.deadline_exceeded,
        )
        by_status: dict[int, int] = {}
        for (_, _, status), count in self._answers.items():
            by_status[status] = by_status.get(status, 0) + count
        yield CounterMetricFamily(
            "corestore_http_throttled", "Requests throttled (429)", value=by_status.get(THROTTLED, 0)
        )
        fenced = CounterMetricFamily(
            "corestore_http_geo_fenced",
            "Requests for another geo's tenant: redirected (307) or refused (421)",
            labels=("status",),
        )
        for status in GEO_FENCE:
            fenced.add_metric((str(status),), by_status.get(status, 0))
        yield fenced
