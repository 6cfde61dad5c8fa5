"""A log line per request, as an operator reads it: found by its request id, and nothing in any
line of a run that used tokens, passwords, secrets and query literals gives one of them away."""

from __future__ import annotations

import json
import time

import httpx

from devtools.client import CreatedTenant
from devtools.process import FrontEndProcess, front_ends
from scale_units.registry import log_path
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD, create_tenant, sign_in
from tests.auth_service.signin_flow import create_app

LITERAL = "Zq7-query-literal"


def test_json_lines_name_each_request_and_never_a_credential_or_literal(
    http: httpx.Client, cluster: ClusterState
) -> None:
    key = cluster.credentials.operator
    with front_ends(cluster.directory, ["westeurope"], ("--log-format", "json")) as (front,):
        tenant = create_tenant(http, front.url, key)
        tokens = sign_in(http, front.url, tenant.domain, tenant.admin)
        admin = {"Authorization": f"Bearer {tokens['access_token']}"}
        query = {"$filter": f"startswith(displayName, '{LITERAL}')"}
        found = http.get(f"{front.url}/v1.0/users", headers=admin, params=query)
        assert found.status_code == 200, found.text
        app = create_app(http, front.url, tenant, admin)
        token_url = f"{front.url}/{tenant.domain}/oauth2/v2.0/token"
        granted = http.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.secret,
            },
        )
        refreshed = http.post(
            token_url, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        assert granted.status_code == refreshed.status_code == 200
        path = log_path(cluster.directory, "westeurope", front.port)
    text = path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    mine = [line for line in lines if line.get("request_id") == found.headers["request-id"]]
    assert len(mine) == 1
    assert mine[0]["route"] == "/v1.0/users"
    assert mine[0]["status"] == 200
    assert mine[0]["tenant_id"] == tenant.id
    assert mine[0]["server"] == found.headers["x-corestore-server"]
    assert {"time", "method", "duration_ms", "client_app_id"} <= set(mine[0])
    secrets = {
        "operator key": key,
        "password": PASSWORD,
        "client secret": app.secret,
        "query literal": LITERAL,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "app token": granted.json()["access_token"],
        "new refresh token": refreshed.json()["refresh_token"],
    }
    assert [name for name, value in secrets.items() if value in text] == []


def test_the_readable_log_names_the_request_by_its_id(
    http: httpx.Client,
    west: FrontEndProcess,
    cluster: ClusterState,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
) -> None:
    answer = http.get(f"{west.url}/v1.0/me", headers=admin_headers)
    assert answer.status_code == 200
    path = log_path(cluster.directory, "westeurope", west.port)
    deadline = time.monotonic() + 5  # the line follows the answer; bounded, not a timed assertion
    lines: list[str] = []
    while not lines and time.monotonic() < deadline:
        lines = [line for line in path.read_text().splitlines() if answer.headers["request-id"] in line]
        time.sleep(0.05)
    assert len(lines) == 1
    assert "GET /v1.0/me 200" in lines[0]
    assert f"tenant_id={http_tenant.id}" in lines[0]
