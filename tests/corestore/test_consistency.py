"""Reads go to replicas, and a caller always reads its own writes."""

from __future__ import annotations

from corestore.session import TenantSession
from corestore.store import CoreStore
from corestore.types import CommitPosition, Tenant
from scale_units.model.topology import Server
from scale_units.routing import distance_ms
from scale_units.state import ClusterState


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


async def test_a_read_goes_to_the_nearest_replica_and_the_primary_comes_last(
    cluster: ClusterState, random_name: str
) -> None:
    """From westeurope, a North American tenant's read is answered by na-1's replica nearest
    westeurope (by the topology's latencies), not merely by some replica. A store of its own,
    closed after, so no other test sees its connections to na-1."""
    store = CoreStore(cluster, cluster.discover(), region="westeurope")
    try:
        tenant = await store.operator.create_tenant(random_name, "US")
        session = await store.operator.session(tenant.id)
        here = store.topology.regions["westeurope"]

        def away(server: Server) -> float:
            return distance_ms(here, store.topology.regions[server.region])

        nearest, *farther = sorted(session.unit.replicas, key=away)
        assert all(away(nearest) < away(s) for s in farther), "the topology has one nearest replica"
        await session.users.list(top=1)
        assert session.last_server == nearest.name
        assert store.router.read_order(session.unit)[-1] == session.unit.primary
        await store.operator.delete_tenant(tenant.id)
    finally:
        await store.close()
