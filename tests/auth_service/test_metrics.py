"""`/metrics` as Prometheus scrapes it: the operator's bearer token, the text format parsed by
prometheus-client's own parser, counters that move with traffic, and no ids in any label."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devtools.client import CreatedTenant
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: httpx.Client, url: str, operator_key: str) -> Samples:
    answer = http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {operator_key}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_answer_only_the_operator_credential(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str]
) -> None:
    assert http.get(f"{west.url}/metrics").status_code == 401
    assert http.get(f"{west.url}/metrics", headers=admin_headers).status_code == 401


def test_counters_move_with_traffic_and_labels_hold_no_ids(
    http: httpx.Client,
    west: FrontEndProcess,
    cluster: ClusterState,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
) -> None:
    key = cluster.credentials.operator
    before = scrape(http, west.url, key)
    me = http.get(f"{west.url}/v1.0/me", headers=admin_headers).json()["id"]
    for _ in range(3):
        assert http.get(f"{west.url}/v1.0/users/{me}", headers=admin_headers).status_code == 200
    form = {"grant_type": "password", "username": http_tenant.admin, "password": "wrong"}
    assert http.post(f"{west.url}/{http_tenant.domain}/oauth2/v2.0/token", data=form).status_code == 400
    after = scrape(http, west.url, key)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"route": "/v1.0/users/{object_id}", "method": "GET"}
    assert moved("corestore_http_requests_total", **route, status="200") == 3
    assert moved("corestore_http_request_duration_seconds_count", **route) == 3
    assert moved("corestore_tokens_total", grant="password", result="invalid_grant") == 1
    assert moved("corestore_sign_in_failures_total", code="AADSTS50126") == 1
    reads = {k: v for k, v in after.items() if k[0] == "corestore_store_reads_total"}
    assert sum(reads.values()) - sum(v for k, v in before.items() if k in reads) >= 3
    assert value(after, "corestore_token_verifications_total", cache="hit") > 0
    assert any(k[0] == "corestore_pool_connections_in_use" for k in after)
    labels = " ".join(v for _, pairs in after for _, v in pairs)
    for secret in (http_tenant.id, me, http_tenant.domain, str(uuid.UUID(me))):
        assert secret not in labels
