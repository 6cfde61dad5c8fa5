"""After a sign-in: its log row, written in the background and kept through SIGTERM, and a rehash."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import asyncpg
import httpx
from argon2 import PasswordHasher

from auth_service.oauth.sign_in_writer import SignInWriter
from corestore.passwords import needs_rehash
from corestore.roles import dsn
from corestore.sign_in_log import SignInRecord
from corestore.store import CoreStore
from devtools.client import connect
from devtools.process import FrontEndProcess
from scale_units.model.topology import Server
from scale_units.ports import free_port
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD, create_tenant, sign_in

GRANTS = 40
VISIBLE_WITHIN_S = 10.0


async def _logged(store: CoreStore, tenant_id: str, principal: str, wanted: int) -> int:
    """Rows of `principal`, read (a replica may trail its primary) until `wanted` or the deadline."""
    session = await store.operator.session(uuid.UUID(tenant_id))
    deadline = time.monotonic() + VISIBLE_WITHIN_S
    while True:
        page = await session.sign_ins.list(top=999)
        found = sum(1 for s in page.items if s.principal == principal and s.result == "success")
        if found >= wanted or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_sigterm_keeps_the_rows_of_every_answered_grant(
    cluster: ClusterState, store: CoreStore
) -> None:
    # No periodic flush within the test: only the drain on SIGTERM can write the rows.
    options = ("--sign-in-flush-ms", "600000")
    frontend = FrontEndProcess("westeurope", cluster.directory, free_port(), options)
    frontend.start()
    try:
        with connect(cluster.directory) as http:
            tenant = create_tenant(http, frontend.url, cluster.credentials.operator)

            def grant(_: int) -> None:
                sign_in(http, frontend.url, tenant.id, tenant.admin, PASSWORD)

            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(grant, range(GRANTS)))
    finally:
        frontend.stop()  # SIGTERM
    assert await _logged(store, tenant.id, tenant.admin, GRANTS) == GRANTS


async def test_a_sign_in_upgrades_a_hash_made_with_older_parameters(
    cluster: ClusterState, store: CoreStore, http: httpx.Client, west: FrontEndProcess
) -> None:
    tenant = create_tenant(http, west.url, cluster.credentials.operator)
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    unit = cluster.discover().scale_units[tenant.scale_unit]
    conn = await asyncpg.connect(dsn(cluster, unit.primary, "superuser"))
    try:
        upn = tenant.admin
        await conn.execute("UPDATE users SET password_hash = $1 WHERE user_principal_name = $2", weaker, upn)
        # The sign-in reads a replica: one that still had the strong hash would rehash nothing.
        await _replayed(cluster, unit.replicas, await conn.fetchval("SELECT pg_current_wal_lsn()::text"))
        sign_in(http, west.url, tenant.id, upn, PASSWORD)
        stored = await conn.fetchval("SELECT password_hash FROM users WHERE user_principal_name = $1", upn)
    finally:
        await conn.close()
    assert stored != weaker
    assert not needs_rehash(stored), "stored again with today's parameters"
    sign_in(http, west.url, tenant.id, upn, PASSWORD)


async def _replayed(cluster: ClusterState, replicas: tuple[Server, ...], lsn: str) -> None:
    """Until every one of `replicas` has replayed the primary's WAL up to `lsn` (bounded)."""
    for replica in replicas:
        conn = await asyncpg.connect(dsn(cluster, replica, "superuser"))
        try:
            deadline = time.monotonic() + 30
            while not await conn.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
                assert time.monotonic() < deadline, f"{replica.name} never replayed {lsn}"
                await asyncio.sleep(0.02)
        finally:
            await conn.close()


async def test_one_flush_writes_each_tenants_rows_into_that_tenant_only(
    cluster: ClusterState, store: CoreStore
) -> None:
    first = await store.operator.create_tenant(f"t{uuid.uuid4().hex[:10]}", "FR")
    second = await store.operator.create_tenant(f"t{uuid.uuid4().hex[:10]}", "FR")
    writer = SignInWriter(store, capacity=3)
    for tenant, principal in ((first, "a@one"), (first, "b@one"), (second, "c@two"), (second, "dropped")):
        writer.record(
            SignInRecord(
                tenant.id.value,
                tenant.placement.scale_unit,
                datetime.now(UTC),
                "success",
                principal,
                "westeurope",
            )
        )
    assert writer.dropped == 1, "a full queue drops the new row and counts it"
    await writer.flush()
    for tenant, expected in ((first, {"a@one", "b@one"}), (second, {"c@two"})):
        session = await store.operator.session(tenant.id)
        deadline = time.monotonic() + VISIBLE_WITHIN_S
        while {s.principal for s in (await session.sign_ins.list()).items} != expected:
            assert time.monotonic() < deadline, f"{tenant.id} sees only its own rows"
            await asyncio.sleep(0.1)
