"""Geo-confined front ends: another geo's tenant is sent where it belongs; nothing of it is processed.

Two fresh front ends, westeurope (EMEA) and eastus (North America), so that what
westeurope holds is only what these tests made it do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import psutil
import pytest

from corestore.roles import DIRECTORY_DB
from devtools.client import CreatedTenant, password_grant, tenant_request
from devtools.process import FrontEndProcess, front_ends
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD, create_tenant, sign_in
from tests.primary import on_primary


@pytest.fixture(scope="module")
def pair(cluster: ClusterState) -> Iterator[tuple[FrontEndProcess, FrontEndProcess]]:
    with front_ends(cluster.directory, ["westeurope", "eastus"]) as (europe, america):
        yield europe, america


@pytest.fixture
def american(
    http: httpx.Client, pair: tuple[FrontEndProcess, FrontEndProcess], cluster: ClusterState
) -> CreatedTenant:
    """A US tenant, asked of the European front end: created by the American one (307 followed)."""
    tenant = create_tenant(http, pair[0].url, cluster.credentials.operator, country="US")
    assert tenant.geo == "north-america"
    return tenant


async def _directory_connections_from(cluster: ClusterState, unit: str, front_end: FrontEndProcess) -> int:
    """Connections `front_end` holds to the directory database on `unit`'s servers (by its sockets'
    ports: this test process's own store, in the same region, may hold some of its own)."""
    ports = {c.laddr.port for c in psutil.Process(front_end.pid).net_connections("tcp")}
    total = 0
    for server in cluster.discover().scale_units[unit].servers:
        conn = await asyncpg.connect(cluster.dsn(server))
        try:
            total += await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND client_port = ANY($2::int[])",
                DIRECTORY_DB,
                list(ports),
            )
        finally:
            await conn.close()
    return total


async def test_a_token_request_for_another_geo_is_redirected_untouched(
    http: httpx.Client,
    pair: tuple[FrontEndProcess, FrontEndProcess],
    american: CreatedTenant,
    cluster: ClusterState,
) -> None:
    europe, america = pair
    path = f"/{american.domain}/oauth2/v2.0/token?x=1"
    wrong = password_grant(american.admin, "wrong-password")
    for _ in range(12):  # more than lockout allows, had Europe counted them
        answer = await asyncio.to_thread(http.post, europe.url + path, data=wrong)
        assert answer.status_code == 307
        assert answer.headers["location"] == america.url + path
    tokens = await asyncio.to_thread(sign_in, http, europe.url, american.domain, american.admin)
    assert tokens["access_token"]
    assert await _directory_connections_from(cluster, "na-1", europe) == 0
    query = "SELECT array_agg(DISTINCT region) FROM sign_ins WHERE tenant_id = $1::uuid"
    regions = None
    for _ in range(300):  # until the sign-in's row is written (a flush every 100 ms), at most 30 s
        if regions := await on_primary(cluster, "na-1", query, american.id):
            break
        await asyncio.sleep(0.1)
    assert regions == ["eastus"], "only America logged (and processed) its sign-ins"


async def test_a_graph_call_with_another_geos_token_is_misdirected(
    http: httpx.Client,
    pair: tuple[FrontEndProcess, FrontEndProcess],
    american: CreatedTenant,
    cluster: ClusterState,
) -> None:
    europe, america = pair
    tokens = await asyncio.to_thread(sign_in, http, america.url, american.domain, american.admin)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    answer = await asyncio.to_thread(http.get, f"{europe.url}/v1.0/users", headers=headers)
    assert answer.status_code == 421
    assert answer.json()["error"]["code"] == "Request_MisdirectedRequest"
    assert america.url in answer.json()["error"]["message"]
    home = await asyncio.to_thread(http.get, f"{america.url}/v1.0/users", headers=headers)
    assert home.status_code == 200
    assert await _directory_connections_from(cluster, "na-1", europe) == 0


def test_the_home_geo_is_served_as_before(
    http: httpx.Client, pair: tuple[FrontEndProcess, FrontEndProcess], cluster: ClusterState
) -> None:
    europe, _ = pair
    french = create_tenant(http, europe.url, cluster.credentials.operator, country="FR")
    answer = http.post(
        f"{europe.url}/{french.domain}/oauth2/v2.0/token", data=password_grant(french.admin, PASSWORD)
    )
    assert answer.status_code == 200


def test_a_tenant_of_a_geo_without_a_front_end_is_refused_as_documented(
    http: httpx.Client, pair: tuple[FrontEndProcess, FrontEndProcess], cluster: ClusterState
) -> None:
    """Singapore's geo (Asia/Pacific) has no front end here: 421, nothing created, and the
    OpenAPI document lists 421 for the route (schemathesis holds answers to the document)."""
    europe, _ = pair
    headers = {"Authorization": f"Bearer {cluster.credentials.operator}"}
    body = tenant_request("nowhere", "SG", "nowhere.example", PASSWORD)
    answer = http.post(f"{europe.url}/operator/tenants", headers=headers, json=body)
    assert answer.status_code == 421, answer.text
    assert "asia-pacific" in answer.json()["error"]["message"]
    document = http.get(f"{europe.url}/openapi.json").json()
    assert "421" in document["paths"]["/operator/tenants"]["post"]["responses"]
