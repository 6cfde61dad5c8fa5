"""A scale unit failing mid-move (the target unreachable, the source's primary killed): the
tenant stays served by exactly one unit, no acknowledged write is lost, and running the same
move again finishes it with nothing left behind. Every server stopped here is started again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from corestore.errors import Unavailable
from corestore.moves.source import move_name
from corestore.roles import DIRECTORY_DB
from corestore.session import TenantSession
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.leaders import leader, member_views_now
from scale_units.local import launcher
from scale_units.model.geography import Cloud
from scale_units.model.topology import Server
from scale_units.state import ClusterState
from tests.moves.conftest import UNITS, other_unit, with_users

LEFTOVERS = """SELECT (SELECT count(*) FROM pg_publication WHERE pubname = $1)
  + (SELECT count(*) FROM pg_subscription WHERE subname = $1)
  + (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)"""
FAILOVER_BOUND_S = 120.0  # a bound on waiting for Patroni's failover, never the assertion


class Journal:
    """A writer of the moving tenant: the users whose creation was acknowledged."""

    def __init__(self, session: TenantSession, name: str) -> None:
        self.session, self.name = session, name
        self.acked: list[str] = []
        self.done = asyncio.Event()

    async def run(self) -> None:
        n = 0
        while not self.done.is_set():  # bounded: the test sets it once the fault is over
            n += 1
            upn = f"w{n}@{self.name}.example"
            try:
                await self.session.users.create(user_principal_name=upn, display_name="w")
            except Exception:  # a refused write (the fault) wrote nothing; the next one may pass
                await asyncio.sleep(0.05)
                continue
            self.acked.append(upn)
            await asyncio.sleep(0.01)


async def _move_with_fault(
    store: CoreStore, tenant: Tenant, target: str, fault: Callable[[], None]
) -> BaseException | None:
    """The move, with `fault` run (once) as the copy starts: its error."""
    faulted = False

    def progress(line: str) -> None:
        nonlocal faulted
        if line.startswith("copy: ") and not faulted:
            faulted = True
            fault()

    try:
        await store.operator.move_tenant(tenant.id, target, progress)
    except Exception as exc:
        return exc
    finally:
        assert faulted, "the move never reached its copy"
    return None


async def _check_one_home(
    cluster: ClusterState, store: CoreStore, tenant: Tenant, journal: Journal, home: str
) -> None:
    """Served by `home` alone with every acknowledged write; the other unit holds no row and
    no publication, subscription or slot of the move on any server."""
    tid = tenant.id.value
    await _check_served(cluster, store, tenant, journal, home)
    for unit in UNITS:
        async with cluster.connect(_leader(cluster, unit), DIRECTORY_DB) as conn:
            rows = await conn.fetchval("SELECT count(*) FROM users WHERE tenant_id = $1", tid)
        assert (rows > 0) == (unit == home), f"{unit} holds {rows} users of the tenant"
        for server in store.topology.scale_units[unit].servers:
            async with cluster.connect(server, DIRECTORY_DB) as conn:
                assert await conn.fetchval(LEFTOVERS, move_name(tid)) == 0, f"leftovers on {server.name}"


async def _check_served(
    cluster: ClusterState, store: CoreStore, tenant: Tenant, journal: Journal, home: str
) -> None:
    """The catalog names `home`, the tenant's reads are answered, and `home`'s primary holds
    every acknowledged write."""
    store.catalog(Cloud.PUBLIC).forget(tenant.id.value)
    assert (await store.placement(tenant.id.value, Cloud.PUBLIC)).scale_unit == home
    assert (await journal.session.users.list(top=1)).items
    acked = set(journal.acked)  # before the read: the writer acknowledges more while it runs
    async with cluster.connect(_leader(cluster, home), DIRECTORY_DB) as conn:
        rows = await conn.fetch("SELECT user_principal_name FROM users WHERE tenant_id = $1", tenant.id.value)
    lost = sorted(acked - {r["user_principal_name"] for r in rows})
    assert not lost, f"acknowledged writes missing on {home}: {lost} of {len(acked)}"


def _leader(cluster: ClusterState, unit: str) -> Server:
    """The unit's primary now (a failover may have moved it off the planned one)."""
    name = _leader_name(cluster, unit)
    assert name is not None, f"{unit} has no leader"
    return next(s for s in cluster.planned_topology.scale_units[unit].servers if s.name == name)


def _leader_name(cluster: ClusterState, unit: str) -> str | None:
    found = leader(cluster.planned_topology.scale_units[unit], member_views_now(cluster.apis))
    return None if found is None else found.name


def _restart(cluster: ClusterState, unit: str) -> None:
    """Start the unit's stopped servers and wait until it leads and streams again."""
    scale_unit = cluster.planned_topology.scale_units[unit]
    for server in scale_unit.servers:
        if launcher.process(cluster, server.name).patroni.pid() is None:
            launcher.process(cluster, server.name).start()
    launcher.wait_streaming(cluster, [scale_unit])


async def test_target_unreachable_during_the_copy_then_a_rerun_moves_it(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant, random_name: str
) -> None:
    target = other_unit(moving.placement.scale_unit)
    servers = units_cluster.planned_topology.scale_units[target].servers

    def unreachable() -> None:
        for server in servers:
            launcher.process(units_cluster, server.name).stop()

    await _fault_then_rerun(units_cluster, units_store, moving, random_name, unreachable, target)


async def test_source_primary_killed_during_the_copy_then_a_rerun_moves_it(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant, random_name: str
) -> None:
    source = moving.placement.scale_unit
    victim = _leader(units_cluster, source).name
    await _fault_then_rerun(
        units_cluster,
        units_store,
        moving,
        random_name,
        launcher.process(units_cluster, victim).kill,
        source,
        lambda: _failed_over(units_cluster, source, victim),
    )


async def _fault_then_rerun(
    cluster: ClusterState,
    store: CoreStore,
    tenant: Tenant,
    name: str,
    fault: Callable[[], None],
    broken: str,
    settle: Callable[[], None] = lambda: None,
) -> None:
    """A move that `fault` (on unit `broken`) fails, while a writer keeps a journal; the
    tenant still on its source; `broken` restored; the same move again, to the end."""
    source = tenant.placement.scale_unit
    target = other_unit(source)
    journal = Journal(await with_users(store, tenant, name, 20), name)
    writer = asyncio.create_task(journal.run())
    try:
        try:
            failed = await _move_with_fault(store, tenant, target, fault)
            assert isinstance(failed, Unavailable), f"the move ended with {failed!r}"
            await asyncio.to_thread(settle)
            # A library store runs no monitor: it learns a new primary as a caller would, by discovery.
            store.router.use_topology(await asyncio.to_thread(cluster.discover))
            await _check_served(cluster, store, tenant, journal, source)
        finally:
            await asyncio.to_thread(_restart, cluster, broken)
            store.router.use_topology(await asyncio.to_thread(cluster.discover))  # for later tests
        await store.operator.move_tenant(tenant.id, target)  # the same command again
    finally:
        journal.done.set()
        await writer
    await _check_one_home(cluster, store, tenant, journal, target)


def _failed_over(cluster: ClusterState, unit: str, old: str) -> None:
    """Until Patroni names another leader than `old` (bounded)."""
    deadline = time.monotonic() + FAILOVER_BOUND_S
    while _leader_name(cluster, unit) in (None, old):
        assert time.monotonic() < deadline, f"{unit} did not fail over within {FAILOVER_BOUND_S:.0f} s"
        time.sleep(0.2)
