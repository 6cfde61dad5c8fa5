"""The library workloads' row: a `bench-` tenant with one user, made through the library, on its replica."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from bench.db.rows import Row
from bench.seed import country_for
from corestore.errors import NotFound
from corestore.store import CoreStore
from scale_units.model.topology import Topology
from scale_units.model.types import RegionName
from scale_units.state import ClusterState

VISIBLE_TIMEOUT_S = 10.0


async def warm_store(directory: Path, region: RegionName, tasks: int) -> CoreStore:
    """A library workload's store, its placement cache warm (as a long-running caller's is): calls
    measure the directory, not the first lookup of each of up to 100,000 tenants in the catalog."""
    store = CoreStore.open(directory, region=region, pool_size=tasks)
    for cloud in store.topology.clouds():
        await store.catalog(cloud).preload()
    return store


async def library_row(state: ClusterState, topology: Topology, region: RegionName) -> Row:
    store = CoreStore(state, topology, region=region)
    try:
        where = topology.regions[region]
        name = f"bench-{uuid.uuid4().hex[:12]}"
        domain = f"{name}.example"
        tenant = await store.operator.create_tenant(
            name, country_for(topology, where.cloud, where.geo), where.cloud, (domain,)
        )
        session = await store.operator.session(tenant.id, where.cloud)
        user = await session.users.create(
            user_principal_name=f"bench-reader@{domain}", display_name="bench-reader"
        )
        row = Row(tenant.id.value, tenant.placement.scale_unit, user.id)
        await _await_visible(store, row)
        return row
    finally:
        await store.close()


async def _await_visible(store: CoreStore, row: Row) -> None:
    """Until a session without a commit position (the workload's) finds the row on its replica."""
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    while True:
        session = await store.operator.session(
            row.tenant_id, store.topology.scale_units[row.scale_unit].cloud
        )
        try:
            await session.users.get(row.user_id)
            return
        except NotFound:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"user {row.user_id} not readable after {VISIBLE_TIMEOUT_S:.0f}s"
                ) from None
            await asyncio.sleep(0.05)
