"""Draining a scale unit: it takes no new tenants, and its tenants move off one at a time,
each to the unit placement would choose for it now (the most free capacity)."""

from __future__ import annotations

import uuid

from corestore.catalog import Catalog, TenantState
from corestore.moves.mover import Mover, MoveReport, Progress
from scale_units.model.placement import UnitLoad, choose_unit
from scale_units.model.topology import ScaleUnit

TENANTS = "SELECT tenant_id FROM tenants WHERE scale_unit = $1 AND state = $2 ORDER BY created_at, tenant_id"
LOADS = """SELECT id, capacity, tenant_count, accepts_tenants FROM scale_units
WHERE cloud = $1 AND geo = $2 ORDER BY id"""


async def drain(catalog: Catalog, mover: Mover, unit: ScaleUnit, progress: Progress) -> list[MoveReport]:
    """Move every tenant off `unit` (already marked draining); rerun to finish an interrupted drain."""
    async with catalog.connect() as conn:
        tenants: list[uuid.UUID] = [
            r["tenant_id"] for r in await conn.fetch(TENANTS, unit.id, TenantState.ACTIVE.value)
        ]
    reports = []
    for number, tenant_id in enumerate(tenants, 1):
        async with catalog.connect() as conn:
            rows = await conn.fetch(LOADS, unit.cloud.value, unit.geo.value)
        target = choose_unit(
            [UnitLoad(r["id"], r["capacity"], r["tenant_count"], r["accepts_tenants"]) for r in rows]
        )
        progress(f"drain {unit.id}: tenant {number} of {len(tenants)}, {tenant_id} to {target}")
        reports.append(await mover.move(tenant_id, target, progress))
    return reports
