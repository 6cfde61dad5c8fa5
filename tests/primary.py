"""What committed, read where it commits: the scale unit's current primary, as superuser
(RLS aside), so no replica's replay lag can hide a write that a "wrote nothing" check must see."""

from __future__ import annotations

from typing import Any

from corestore.roles import DIRECTORY_DB
from scale_units.state import ClusterState


async def on_primary(cluster: ClusterState, unit: str, query: str, *args: Any) -> Any:
    """`fetchval` of `query` on `unit`'s primary (the one Patroni names now)."""
    async with cluster.connect(cluster.discover().scale_units[unit].primary, DIRECTORY_DB) as conn:
        return await conn.fetchval(query, *args)


async def rows_of(cluster: ClusterState, unit: str, table: str, tenant_id: str) -> int:
    """How many rows of `table` the tenant has on its primary."""
    query = f"SELECT count(*) FROM {table} WHERE tenant_id = $1::uuid"
    return int(await on_primary(cluster, unit, query, tenant_id))
