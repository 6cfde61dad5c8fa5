"""`no_quorum = "degrade"`: with no replica alive, commits go on asynchronously and say so."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from auth_service.http.deps import QUORUM_HEADER
from corestore.roles import dsn
from devtools.client import CreatedTenant, connect, create_tenant, sign_in, user_body
from devtools.process import FrontEndProcess, front_ends
from scale_units.local import launcher
from scale_units.local.status import ServerStatus, cluster_status
from scale_units.state import ClusterState
from tests.cluster import temp_cluster

TOPOLOGY = Path(__file__).parents[1] / "topologies" / "degrade.toml"
PRIMARY, REPLICA = "emea-1-westeurope", "emea-1-northeurope"
PASSWORD = "Adm1n-passw0rd!"
EVENT_BOUND_S = 30.0  # a generous bound on waiting for an event, never the assertion


@pytest.fixture(scope="module")
def degrade_cluster() -> Iterator[ClusterState]:
    with temp_cluster(TOPOLOGY) as state:
        yield state


def _primary_sync(state: ClusterState, wanted: str, timeout: float = 20.0) -> ServerStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = {s.name: s for s in asyncio.run(cluster_status(state))}[PRIMARY]
        if status.sync == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def _create_user(front: FrontEndProcess, headers: dict[str, str], tenant: CreatedTenant) -> httpx.Response:
    with connect(front.directory) as http:
        body = user_body(tenant.upn(f"u{uuid.uuid4().hex[:8]}"), "U")
        return http.post(f"{front.url}/v1.0/users", headers=headers, json=body)


def test_replica_lost_commits_go_on_degraded_and_the_quorum_returns(degrade_cluster: ClusterState) -> None:
    assert _primary_sync(degrade_cluster, "quorum").sync == "quorum"
    with front_ends(degrade_cluster.directory, ["westeurope"]) as (front,), connect(front.directory) as http:
        tenant = create_tenant(http, front.url, degrade_cluster.credentials.operator, PASSWORD)
        token = sign_in(http, front.url, tenant.domain, tenant.admin, PASSWORD)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert QUORUM_HEADER not in _create_user(front, headers, tenant).headers
        launcher.process(degrade_cluster, REPLICA).kill()
        assert _primary_sync(degrade_cluster, "DEGRADED").sync == "DEGRADED", "status shows the unit degraded"
        # Until the front end's monitor (every half second) has seen it, at most EVENT_BOUND_S:
        # every write meanwhile is committed all the same.
        deadline = time.monotonic() + EVENT_BOUND_S
        while QUORUM_HEADER not in (created := _create_user(front, headers, tenant)).headers:
            assert created.status_code == 201, created.text
            assert time.monotonic() < deadline, "the front end never said its commits were unconfirmed"
            time.sleep(0.1)
        assert created.status_code == 201
        assert created.headers[QUORUM_HEADER] == "degrade", "the front end says the commit was unconfirmed"

    async def commit() -> None:
        conn = await asyncpg.connect(dsn(degrade_cluster, PRIMARY, "superuser"))
        try:
            await asyncio.wait_for(
                conn.execute("CREATE TABLE degraded (n int); INSERT INTO degraded VALUES (1)"), 10
            )
        finally:
            await conn.close()

    asyncio.run(commit())  # acknowledged without a replica
    launcher.up(TOPOLOGY, degrade_cluster.directory)
    assert _primary_sync(degrade_cluster, "quorum").sync == "quorum"
