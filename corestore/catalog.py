"""A cloud's tenant catalog: where each tenant lives and which domains are its own.

Placement is serialised by locking the geo's scale unit rows (in id order, so
parallel creates neither deadlock nor overfill a capped unit). A tenant is
`creating` until its row exists in its scale unit, `deleting` while it is purged.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from corestore.catalog_schema import CatalogDomain, CatalogTenant, ScaleUnitSlot
from corestore.errors import Conflict
from scale_units.geography import Cloud, Geo
from scale_units.placement import PlacementPolicy, UnitLoad, choose_unit
from scale_units.state import CATALOG_DB
from scale_units.types import ScaleUnitId

if TYPE_CHECKING:
    from corestore.store import CoreStore

CACHE_TTL_S = 30.0


@dataclass(frozen=True)
class CatalogEntry:
    tenant_id: uuid.UUID
    cloud: Cloud
    geo: Geo
    scale_unit: ScaleUnitId
    state: str


class Catalog:
    def __init__(self, store: CoreStore, cloud: Cloud) -> None:
        self.store = store
        self.cloud = cloud
        self._cache: dict[uuid.UUID, tuple[float, CatalogEntry]] = {}

    def _connect(self) -> AsyncConnection:
        unit = self.store.topology.catalog_unit(self.cloud)
        return self.store.engines.get(unit.primary.name, "app", CATALOG_DB).connect()

    async def place(
        self, tenant_id: uuid.UUID, geo: Geo, domains: tuple[str, ...], policy: PlacementPolicy
    ) -> ScaleUnitId:
        """Choose the tenant's scale unit and record it (`creating`) with its domains."""
        async with self._connect() as conn, conn.begin():
            rows = await conn.execute(
                select(ScaleUnitSlot)
                .where(ScaleUnitSlot.cloud == self.cloud.value, ScaleUnitSlot.geo == geo.value)
                .order_by(ScaleUnitSlot.id)
                .with_for_update()
            )
            loads = [UnitLoad(r.id, r.capacity, r.tenant_count) for r in rows]
            unit_id = choose_unit(loads, policy)
            await conn.execute(
                update(ScaleUnitSlot)
                .where(ScaleUnitSlot.id == unit_id)
                .values(tenant_count=ScaleUnitSlot.tenant_count + 1)
            )
            await conn.execute(
                insert(CatalogTenant).values(
                    tenant_id=tenant_id, cloud=self.cloud.value, geo=geo.value, scale_unit=unit_id
                )
            )
            await self._insert_domains(conn, tenant_id, domains)
        return unit_id

    async def _insert_domains(
        self, conn: AsyncConnection, tenant_id: uuid.UUID, names: tuple[str, ...]
    ) -> None:
        if not names:
            return
        try:
            async with conn.begin_nested():
                await conn.execute(
                    insert(CatalogDomain), [{"name": n, "tenant_id": tenant_id} for n in names]
                )
        except IntegrityError:
            raise Conflict(f"a domain of {', '.join(names)} belongs to another tenant") from None

    async def set_state(self, tenant_id: uuid.UUID, state: str) -> None:
        async with self._connect() as conn, conn.begin():
            await conn.execute(
                update(CatalogTenant).where(CatalogTenant.tenant_id == tenant_id).values(state=state)
            )
        self._cache.pop(tenant_id, None)

    async def remove(self, tenant_id: uuid.UUID) -> None:
        """Drop the tenant and its domains, and give its slot back."""
        async with self._connect() as conn, conn.begin():
            unit = await conn.scalar(
                delete(CatalogTenant)
                .where(CatalogTenant.tenant_id == tenant_id)
                .returning(CatalogTenant.scale_unit)
            )
            if unit is not None:
                await conn.execute(
                    update(ScaleUnitSlot)
                    .where(ScaleUnitSlot.id == unit)
                    .values(tenant_count=ScaleUnitSlot.tenant_count - 1)
                )
        self._cache.pop(tenant_id, None)

    async def lookup(self, tenant_id: uuid.UUID) -> CatalogEntry | None:
        """The tenant's placement; cached briefly, since a location never changes."""
        cached = self._cache.get(tenant_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        async with self._connect() as conn:
            row = (
                await conn.execute(select(CatalogTenant).where(CatalogTenant.tenant_id == tenant_id))
            ).first()
        if row is None:
            return None
        entry = CatalogEntry(row.tenant_id, Cloud(row.cloud), Geo(row.geo), row.scale_unit, row.state)
        if entry.state == "active":
            self._cache[tenant_id] = (time.monotonic() + CACHE_TTL_S, entry)
        return entry

    async def resolve_domain(self, name: str) -> uuid.UUID | None:
        async with self._connect() as conn:
            found: uuid.UUID | None = await conn.scalar(
                select(CatalogDomain.tenant_id).where(CatalogDomain.name == name.lower())
            )
        return found

    async def add_domain(self, tenant_id: uuid.UUID, name: str) -> None:
        async with self._connect() as conn, conn.begin():
            await self._insert_domains(conn, tenant_id, (name,))

    async def tenant_counts(self) -> dict[ScaleUnitId, int]:
        async with self._connect() as conn:
            rows = await conn.execute(
                select(ScaleUnitSlot.id, ScaleUnitSlot.tenant_count).where(
                    ScaleUnitSlot.cloud == self.cloud.value
                )
            )
            return {r.id: r.tenant_count for r in rows}
