"""Sign-in past replication lag: a replica that has not replayed a new user or a new
password sends the check to the primary (as AD forwards a failed password to its PDC): one test
for each case."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from devtools.client import user_body
from devtools.process import FrontEndProcess
from scale_units.model.geography import Geo
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD, create_tenant, sign_in


@contextmanager
def replay_paused(cluster: ClusterState, geo: Geo) -> Iterator[None]:
    """The geo's replicas receive WAL (commits still reach quorum) but apply none of it."""
    units = cluster.discover().scale_units.values()
    replicas = [server for unit in units if unit.geo is geo for server in unit.replicas]

    async def each(statement: str) -> None:
        for server in replicas:
            async with cluster.connect(server) as conn:
                await conn.execute(statement)

    asyncio.run(each("SELECT pg_wal_replay_pause()"))
    try:
        yield
    finally:
        asyncio.run(each("SELECT pg_wal_replay_resume()"))


def test_a_new_administrator_signs_in_at_once_with_every_scope(
    http: httpx.Client, west: FrontEndProcess, cluster: ClusterState
) -> None:
    with replay_paused(cluster, Geo.EMEA):
        tenant = create_tenant(http, west.url, cluster.credentials.operator, country="FR")
        token = sign_in(http, west.url, tenant.domain, tenant.admin)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        created = http.post(
            f"{west.url}/v1.0/users",
            headers=headers,
            json=user_body(tenant.upn("second"), "Second"),
        )
        assert created.status_code == 201, created.text
        wrong = http.post(
            f"{west.url}/{tenant.domain}/oauth2/v2.0/token",
            data={"grant_type": "password", "username": tenant.admin, "password": PASSWORD + "x"},
        )
        assert wrong.status_code == 400


def test_a_new_password_works_at_once_though_the_replicas_have_the_old_one(
    http: httpx.Client, west: FrontEndProcess, cluster: ClusterState
) -> None:
    """The replica holds the old hash: the new password fails there and is checked again on the
    primary, which has it. (The old one still works on such a replica until it replays the
    change, as on an AD domain controller that has not replicated it: not checked here.)"""
    tenant = create_tenant(http, west.url, cluster.credentials.operator, country="FR")
    headers = {
        "Authorization": f"Bearer {sign_in(http, west.url, tenant.domain, tenant.admin)['access_token']}"
    }
    me = http.get(f"{west.url}/v1.0/me", headers=headers).json()["id"]
    new = PASSWORD + "-new"
    with replay_paused(cluster, Geo.EMEA):
        changed = http.patch(
            f"{west.url}/v1.0/users/{me}",
            headers=headers,
            json={"passwordProfile": {"password": new, "forceChangePasswordNextSignIn": False}},
        )
        assert changed.status_code == 204, changed.text
        assert sign_in(http, west.url, tenant.domain, tenant.admin, new)["access_token"]
