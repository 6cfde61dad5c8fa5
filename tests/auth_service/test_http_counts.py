"""The HTTP families counted without prometheus-client's per-request locks still read, to its own
parser, as counters and a cumulative histogram; 429s and the geo fence's answers come from them."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from auth_service.metrics.http import HttpCounts

pytestmark = pytest.mark.unit


def test_counts_read_as_counters_and_a_cumulative_histogram() -> None:
    counts = HttpCounts()
    registry = CollectorRegistry()
    registry.register(counts)
    counts.answered("/v1.0/users/{object_id}", "GET", 200, 0.002)
    counts.answered("/v1.0/users/{object_id}", "GET", 200, 0.03)
    counts.answered("/v1.0/users/{object_id}", "GET", 429, 0.0005)
    counts.answered("unmatched", "BREW", 307, 0.001)
    counts.deadline_exceeded += 1
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    route = (("method", "GET"), ("route", "/v1.0/users/{object_id}"))
    assert samples["corestore_http_requests_total", (*route, ("status", "200"))] == 2
    assert samples["corestore_http_request_duration_seconds_bucket", (("le", "0.001"), *route)] == 1
    assert samples["corestore_http_request_duration_seconds_bucket", (("le", "0.0025"), *route)] == 2
    assert samples["corestore_http_request_duration_seconds_bucket", (("le", "+Inf"), *route)] == 3
    assert samples["corestore_http_request_duration_seconds_count", route] == 3
    assert samples["corestore_http_request_duration_seconds_sum", route] == pytest.approx(0.0325)
    assert samples["corestore_http_throttled_total", ()] == 1
    assert samples["corestore_http_geo_fenced_total", (("status", "307"),)] == 1
    assert samples["corestore_http_geo_fenced_total", (("status", "421"),)] == 0
    assert samples["corestore_http_deadline_exceeded_total", ()] == 1
    other = (("method", "OTHER"), ("route", "unmatched"), ("status", "307"))
    assert samples["corestore_http_requests_total", other] == 1
