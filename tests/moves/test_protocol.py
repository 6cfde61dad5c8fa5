"""A tenant's move through the library: every row, verified, the source left empty."""

from __future__ import annotations

import asyncio

from corestore.moves.tables import summarize, tenant_tables
from corestore.roles import DIRECTORY_DB
from corestore.schema import Base
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.state import ClusterState
from tests.corestore.fill import fill_every_table
from tests.moves.conftest import other_unit, with_users

UPNS = "SELECT user_principal_name FROM users WHERE tenant_id = $1"
TENANT_TABLES = tuple(sorted(t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.columns))


async def _summary(cluster: ClusterState, store: CoreStore, unit: str, tenant: Tenant) -> dict[str, int]:
    primary = store.topology.scale_units[unit].primary
    async with cluster.connect(primary, DIRECTORY_DB) as conn:
        return {t: s.rows for t, s in (await summarize(conn, tenant.id.value, TENANT_TABLES)).items()}


async def test_every_row_of_every_table_moves_and_leaves_the_source(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant, random_name: str
) -> None:
    session = await units_store.operator.session(moving.id)
    ids = await fill_every_table(units_store, session, random_name)
    source, target = moving.placement.scale_unit, other_unit(moving.placement.scale_unit)
    before = await _summary(units_cluster, units_store, source, moving)
    assert all(before.values()), f"a table without rows proves nothing: {before}"

    lines: list[str] = []
    report = await units_store.operator.move_tenant(moving.id, target, lines.append)

    assert (report.source, report.target, report.epoch) == (source, target, 1)
    assert report.rows == sum(before.values())
    assert await _summary(units_cluster, units_store, target, moving) == before
    assert not any((await _summary(units_cluster, units_store, source, moving)).values())
    assert any(line.startswith("flip") and "writes fenced" in line for line in lines)
    # The session made before the move follows the tenant: reads and writes work on the target.
    assert (await session.users.get(ids["user"])).id == ids["user"]
    await session.users.create(user_principal_name=f"after@{random_name}.example", display_name="after")
    assert session.unit.id == target
    assert (await units_store.operator.session(moving.id)).unit.id == target


async def test_every_tenant_table_moves_and_every_function_is_fenced(
    units_cluster: ClusterState, units_store: CoreStore
) -> None:
    primary = units_store.topology.scale_units["emea-1"].primary
    async with units_cluster.connect(primary, DIRECTORY_DB) as conn:
        assert await tenant_tables(conn) == TENANT_TABLES, "the mover's list is every model's tenant table"
        plain = await conn.fetch(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'corestore' AND p.proname <> 'enter_tenant' "
            "AND p.prosrc LIKE '%corestore.tenant_id%'"
        )
    assert [r["proname"] for r in plain] == [], "these set the tenant past the move's fence"


async def test_writes_made_while_the_paced_copy_runs_arrive_once(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant, random_name: str
) -> None:
    """The copy reads one snapshot (the slot's) and the subscription starts at that slot: a
    write committed during the copy is on the target exactly once (a second copy of a row
    would stop the subscription, a missing one the verification)."""
    session = await with_users(units_store, moving, random_name, 60)
    target = other_unit(moving.placement.scale_unit)
    copying = asyncio.Event()
    acknowledged_while_copying: list[str] = []
    acknowledged: list[str] = []

    def progress(line: str) -> None:
        if line.startswith("copy: 0/"):
            copying.set()
        elif line.startswith("catch-up"):
            copying.clear()

    async def write() -> None:
        for n in range(2_000):  # bounded; the move ends it first
            upn = f"w{n}@{random_name}.example"
            await session.users.create(user_principal_name=upn, display_name="w")
            (acknowledged_while_copying if copying.is_set() else acknowledged).append(upn)
            if done.is_set():
                return

    done = asyncio.Event()
    writer = asyncio.create_task(write())
    try:
        # Slow enough that the copy of ~60 users' rows takes a few seconds.
        await units_store.operator.move_tenant(moving.id, target, progress, copy_mib_s=0.02)
    finally:
        done.set()
        await writer
    assert acknowledged_while_copying, "no write landed during the copy: the test proves nothing"
    async with units_cluster.connect(units_store.topology.scale_units[target].primary, DIRECTORY_DB) as conn:
        names = [r["user_principal_name"] for r in await conn.fetch(UPNS, moving.id.value)]
    assert len(names) == len(set(names))
    assert set(acknowledged_while_copying + acknowledged) <= set(names)
