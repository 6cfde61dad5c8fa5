"""The placement epoch a delta token is held to comes from the database that serves the
tenant, not from a process's placement cache."""

from __future__ import annotations

from corestore.directory.changes import delta_page
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.state import ClusterState
from tests.moves.conftest import other_unit


async def test_a_stale_process_reads_the_epoch_of_a_move_there_and_back(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant
) -> None:
    source = moving.placement.scale_unit
    stale = CoreStore(units_cluster, units_cluster.discover(), region="westeurope")
    try:
        session = await stale.operator.session(moving.id)
        first = await delta_page(session.users, None)
        assert first.epoch == 0

        await units_store.operator.move_tenant(moving.id.value, other_unit(source))
        await units_store.operator.move_tenant(moving.id.value, source)

        page = await delta_page(session.users, first.snapshot)
        assert (session.unit.id, session.epoch) == (source, 0), "its cache never saw the moves"
        assert page.epoch == 2, "a first-epoch token is refused (the route compares the two)"
    finally:
        await stale.close()
