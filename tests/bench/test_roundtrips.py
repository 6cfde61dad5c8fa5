"""Counted on the wire: a tenant read is one statement, a create two, an update four."""

from __future__ import annotations

from bench.db.rows import Row
from bench.roundtrips import RoundTrips, count_round_trips
from corestore.types import Tenant
from scale_units.state import ClusterState


async def test_a_read_is_one_round_trip_a_create_two_an_update_four(
    cluster: ClusterState, tenant: Tenant
) -> None:
    row = Row(tenant.id.value, tenant.placement.scale_unit, tenant.id.value)
    counted = await count_round_trips(cluster, cluster.discover(), "westeurope", row)
    # A create: one statement that enters the tenant and commits on its own, the commit's WAL position.
    # An update: BEGIN with the tenant setting, the statement, COMMIT, the commit's WAL position.
    # A read after a write first asks the replica whether it has replayed that position.
    assert counted == RoundTrips(read=1, read_after_write=2, list_page=1, create=2, update=4)
