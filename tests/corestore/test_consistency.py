"""Reads go to replicas, and a caller always reads its own writes."""

from __future__ import annotations

from corestore.session import TenantSession
from corestore.store import CoreStore
from corestore.types import CommitPosition, Tenant


async def test_write_then_immediate_read_on_a_replica_sees_it(session: TenantSession, tenant: Tenant) -> None:
    user = await session.users.create(user_principal_name=f"c@{tenant.domains[0]}", display_name="v0")
    for i in range(1, 30):
        await session.users.update(user.id, {"display_name": f"v{i}"})
        assert (await session.users.get(user.id)).display_name == f"v{i}"
        assert session.last_server in {s.name for s in session.unit.replicas}


async def test_commit_position_carries_read_your_writes_to_another_session(
    store: CoreStore, tenant: Tenant
) -> None:
    writer = await store.operator.session(tenant.id)
    user = await writer.users.create(user_principal_name=f"d@{tenant.domains[0]}", display_name="new")
    assert writer.consistency is not None
    position = CommitPosition.parse(str(writer.consistency))
    reader = await store.operator.session(tenant.id)
    reader.consistency = position
    assert (await reader.users.get(user.id)).display_name == "new"


async def test_reads_prefer_the_nearest_replica(store: CoreStore) -> None:
    unit = store.topology.scale_units["na-1"]
    order = store.router.read_order(unit)
    assert order[0] in unit.replicas
    assert order[-1] == unit.primary
