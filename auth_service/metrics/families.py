"""The metric families a front end counts as requests pass (HTTP and sign-ins), in its own registry.

Labels are bounded by construction: route templates (never raw paths), methods, statuses,
grant types, AADSTS codes; never a tenant, user or application id. Children are cached per
label tuple, so the per-request cost is a dict lookup, an add and a histogram bucket.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Requests take ~1 ms to the 15 s deadline: buckets from 1 ms to 15 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
UNMATCHED = "unmatched"  # answered before routing (the geo fence, a refused header) or no route
AADSTS = re.compile(r"AADSTS\d+")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
GEO_FENCE = frozenset({307, 421})


class FrontEndMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "corestore_http_requests", "HTTP requests answered", ("route", "method", "status"), registry=r
        )
        self.latency = Histogram(
            "corestore_http_request_duration_seconds",
            "Time to answer, by route template",
            ("route", "method"),
            buckets=BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("corestore_http_requests_in_flight", "Requests being answered", registry=r)
        self.deadline = Counter(
            "corestore_http_deadline_exceeded", "Requests cut off by their deadline (503)", registry=r
        )
        self.throttled = Counter("corestore_http_throttled", "Requests throttled (429)", registry=r)
        self.geo_fence = Counter(
            "corestore_http_geo_fenced",
            "Requests for another geo's tenant: redirected (307) or refused (421)",
            ("status",),
            registry=r,
        )
        self.tokens = Counter(
            "corestore_tokens", "Token requests, by grant type and result", ("grant", "result"), registry=r
        )
        self.sign_in_failures = Counter(
            "corestore_sign_in_failures", "Refused sign-ins, by AADSTS code", ("code",), registry=r
        )
        self.lockouts = Counter(
            "corestore_sign_in_lockouts", "Sign-ins refused because the account is locked", registry=r
        )
        self._answered: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request. An unknown method counts as OTHER (a client chooses it)."""
        key = (route, method if method in METHODS else "OTHER", status)
        found = self._answered.get(key)
        if found is None:
            found = self._answered[key] = (
                self.requests.labels(route, key[1], str(status)),
                self.latency.labels(route, key[1]),
            )
        found[0].inc()
        found[1].observe(seconds)
        if status == 429:
            self.throttled.inc()
        elif status in GEO_FENCE:
            self.geo_fence.labels(str(status)).inc()

    def token(self, grant: str, result: str, message: str | None = None) -> None:
        """A token request's outcome; a refusal's AADSTS code, if its message has one."""
        self.tokens.labels(grant, result).inc()
        if message is not None:
            found = AADSTS.match(message)
            self.sign_in_failures.labels(found.group() if found else "none").inc()
