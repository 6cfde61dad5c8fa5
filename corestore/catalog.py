"""A cloud's tenant catalog: where each tenant lives and which domains are its own.

Placement is serialised by locking the geo's scale unit rows (in id order, so
parallel creates neither deadlock nor overfill a capped unit). A tenant is
`creating` until its row exists in its scale unit, `deleting` while it is purged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
from sqlalchemy import bindparam, delete, insert, select, update

from corestore.catalog_schema import CatalogDomain, CatalogTenant, ScaleUnitSlot
from corestore.errors import Conflict, NotFound, TenantNotFound
from corestore.pools import Connection, Pools
from corestore.roles import CATALOG_DB
from corestore.sql import cached
from corestore.types import Placement
from scale_units.model.geography import Cloud, Geo
from scale_units.model.placement import PlacementPolicy, UnitLoad, choose_unit
from scale_units.model.types import ScaleUnitId
from scale_units.routing import Router

CACHE_TTL_S = 30.0
CATALOG_ACQUIRE_TIMEOUT_S = 2.0  # a pooled connection for a catalog write


class TenantState(StrEnum):
    CREATING = "creating"
    ACTIVE = "active"
    DELETING = "deleting"


# What each state allows: only an active tenant is served (and cached; a move's fence tells a stale cache).
SERVED: Mapping[TenantState, bool] = {
    TenantState.CREATING: False,
    TenantState.ACTIVE: True,
    TenantState.DELETING: False,
}


@dataclass(frozen=True)
class CatalogEntry:
    tenant_id: uuid.UUID
    placement: Placement
    state: TenantState


PLACE_LOCK = cached(
    "catalog:lock-units",
    lambda: (
        select(
            ScaleUnitSlot.id,
            ScaleUnitSlot.capacity,
            ScaleUnitSlot.tenant_count,
            ScaleUnitSlot.accepts_tenants,
        )
        .where(ScaleUnitSlot.cloud == bindparam("cloud"), ScaleUnitSlot.geo == bindparam("geo"))
        .order_by(ScaleUnitSlot.id)
        .with_for_update()
    ),
)
ACCEPTS = cached(
    "catalog:accepts-tenants",
    lambda: (
        update(ScaleUnitSlot)
        .where(ScaleUnitSlot.id == bindparam("unit"), ScaleUnitSlot.cloud == bindparam("cloud"))
        .values(accepts_tenants=bindparam("accepts"))
        .returning(ScaleUnitSlot.id)
    ),
)
COUNT = cached(
    "catalog:count",
    lambda: (
        update(ScaleUnitSlot)
        .where(ScaleUnitSlot.id == bindparam("unit"))
        .values(tenant_count=ScaleUnitSlot.tenant_count + bindparam("delta"))
    ),
)
INSERT_TENANT = cached(
    "catalog:insert-tenant",
    lambda: insert(CatalogTenant).values(
        tenant_id=bindparam("tenant"),
        cloud=bindparam("cloud"),
        geo=bindparam("geo"),
        scale_unit=bindparam("unit"),
        state=TenantState.CREATING.value,
    ),
)
INSERT_DOMAIN = cached(
    "catalog:insert-domain",
    lambda: insert(CatalogDomain).values(name=bindparam("name"), tenant_id=bindparam("tenant")),
)
SET_STATE = cached(
    "catalog:set-state",
    lambda: (
        update(CatalogTenant)
        .where(CatalogTenant.tenant_id == bindparam("tenant"))
        .values(state=bindparam("state"))
    ),
)
REMOVE = cached(
    "catalog:remove",
    lambda: (
        delete(CatalogTenant)
        .where(CatalogTenant.tenant_id == bindparam("tenant"))
        .returning(CatalogTenant.scale_unit)
    ),
)
LOOKUP = cached(
    "catalog:lookup",
    lambda: select(
        CatalogTenant.cloud,
        CatalogTenant.geo,
        CatalogTenant.scale_unit,
        CatalogTenant.state,
        CatalogTenant.epoch,
    ).where(CatalogTenant.tenant_id == bindparam("tenant")),
)
ACTIVE = cached(
    "catalog:active",
    lambda: select(
        CatalogTenant.tenant_id, CatalogTenant.geo, CatalogTenant.scale_unit, CatalogTenant.epoch
    ).where(CatalogTenant.state == TenantState.ACTIVE.value),
)
GEO_TENANTS = cached(
    "catalog:geo-tenants",
    lambda: (
        select(CatalogTenant.tenant_id)
        .where(
            CatalogTenant.state == TenantState.ACTIVE.value,
            CatalogTenant.geo == bindparam("geo"),
            CatalogTenant.tenant_id > bindparam("after"),
        )
        .order_by(CatalogTenant.tenant_id)
        .limit(bindparam("limit"))
    ),
)
RESOLVE_DOMAIN = cached(
    "catalog:resolve-domain",
    lambda: select(CatalogDomain.tenant_id).where(CatalogDomain.name == bindparam("name")),
)
DOMAINS = cached(
    "catalog:domains",
    lambda: (
        select(CatalogDomain.name)
        .where(CatalogDomain.tenant_id == bindparam("tenant"))
        .order_by(CatalogDomain.name)
    ),
)
COUNTS = cached(
    "catalog:counts",
    lambda: select(ScaleUnitSlot.id, ScaleUnitSlot.tenant_count).where(
        ScaleUnitSlot.cloud == bindparam("cloud")
    ),
)


class Catalog:
    def __init__(self, cloud: Cloud, pools: Pools, router: Router) -> None:
        self.cloud = cloud
        self._pools = pools
        self._router = router
        self._cache: dict[uuid.UUID, tuple[float, CatalogEntry]] = {}

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Connection]:
        """A connection to the catalog on the primary of the cloud's catalog unit."""
        primary = self._router.write_target(self._router.topology.catalog_unit(self.cloud))
        pool = self._pools.get(primary.name, CATALOG_DB)
        async with pool.acquire(timeout=CATALOG_ACQUIRE_TIMEOUT_S) as conn:
            yield conn

    async def place(
        self, tenant_id: uuid.UUID, geo: Geo, domains: tuple[str, ...], policy: PlacementPolicy
    ) -> ScaleUnitId:
        """Choose the tenant's scale unit and record it (`creating`) with its domains."""
        async with self.connect() as conn, conn.transaction():
            rows = await conn.fetch(PLACE_LOCK.sql, *PLACE_LOCK.args(cloud=self.cloud.value, geo=geo.value))
            loads = [UnitLoad(r["id"], r["capacity"], r["tenant_count"], r["accepts_tenants"]) for r in rows]
            unit_id = choose_unit(loads, policy)
            await conn.execute(COUNT.sql, *COUNT.args(unit=unit_id, delta=1))
            await conn.execute(
                INSERT_TENANT.sql,
                *INSERT_TENANT.args(tenant=tenant_id, cloud=self.cloud.value, geo=geo.value, unit=unit_id),
            )
            await self._insert_domains(conn, tenant_id, domains)
        return unit_id

    async def _insert_domains(self, conn: Connection, tenant_id: uuid.UUID, names: tuple[str, ...]) -> None:
        try:
            async with conn.transaction():
                await conn.executemany(
                    INSERT_DOMAIN.sql, [INSERT_DOMAIN.args(name=n, tenant=tenant_id) for n in names]
                )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a domain of {', '.join(names)} belongs to another tenant") from None

    async def set_state(self, tenant_id: uuid.UUID, state: TenantState) -> None:
        async with self.connect() as conn:
            await conn.execute(SET_STATE.sql, *SET_STATE.args(tenant=tenant_id, state=state.value))
        self._cache.pop(tenant_id, None)

    async def remove(self, tenant_id: uuid.UUID) -> None:
        """Drop the tenant and its domains, and give its slot back."""
        async with self.connect() as conn, conn.transaction():
            unit = await conn.fetchval(REMOVE.sql, *REMOVE.args(tenant=tenant_id))
            if unit is not None:
                await conn.execute(COUNT.sql, *COUNT.args(unit=unit, delta=-1))
        self._cache.pop(tenant_id, None)

    def forget(self, tenant_id: uuid.UUID) -> None:
        """Drop the cached placement (a unit said the tenant moved)."""
        self._cache.pop(tenant_id, None)

    def cached(self, tenant_id: uuid.UUID) -> CatalogEntry | None:
        """An active tenant's entry while the cache holds it: no await for the common case."""
        found = self._cache.get(tenant_id)
        return found[1] if found and found[0] > time.monotonic() else None

    async def lookup(self, tenant_id: uuid.UUID) -> CatalogEntry | None:
        """The tenant's placement; cached briefly (a move's fence tells a stale cache)."""
        if (fresh := self.cached(tenant_id)) is not None:
            return fresh
        async with self.connect() as conn:
            row = await conn.fetchrow(LOOKUP.sql, *LOOKUP.args(tenant=tenant_id))
        if row is None:
            return None
        placement = Placement(Cloud(row["cloud"]), Geo(row["geo"]), row["scale_unit"], row["epoch"])
        entry = CatalogEntry(tenant_id, placement, TenantState(row["state"]))
        if SERVED[entry.state]:
            self._cache[tenant_id] = (time.monotonic() + CACHE_TTL_S, entry)
        return entry

    async def preload(self) -> int:
        """Every active tenant's placement into the cache at once (one query), as a long-running
        front end would hold them; how many."""
        async with self.connect() as conn:
            rows = await conn.fetch(ACTIVE.sql, *ACTIVE.args())
        expires = time.monotonic() + CACHE_TTL_S
        for r in rows:
            placement = Placement(self.cloud, Geo(r["geo"]), r["scale_unit"], r["epoch"])
            self._cache[r["tenant_id"]] = (
                expires,
                CatalogEntry(r["tenant_id"], placement, TenantState.ACTIVE),
            )
        return len(rows)

    async def tenants(self, geo: Geo, after: uuid.UUID, limit: int) -> tuple[uuid.UUID, ...]:
        """A page of the geo's active tenants in id order, after `after`: background jobs walk them."""
        async with self.connect() as conn:
            rows = await conn.fetch(
                GEO_TENANTS.sql, *GEO_TENANTS.args(geo=geo.value, after=after, limit=limit)
            )
        return tuple(r["tenant_id"] for r in rows)

    async def served(self, tenant_id: uuid.UUID) -> Placement:
        """An active tenant's placement; anything else is `TenantNotFound`."""
        entry = await self.lookup(tenant_id)
        if entry is None or not SERVED[entry.state]:
            raise TenantNotFound(f"no tenant {tenant_id} in cloud {self.cloud.value}")
        return entry.placement

    async def resolve_domain(self, name: str) -> uuid.UUID | None:
        async with self.connect() as conn:
            found: uuid.UUID | None = await conn.fetchval(
                RESOLVE_DOMAIN.sql, *RESOLVE_DOMAIN.args(name=name.lower())
            )
        return found

    async def domains(self, tenant_id: uuid.UUID) -> tuple[str, ...]:
        """The tenant's verified domains, by name."""
        async with self.connect() as conn:
            rows = await conn.fetch(DOMAINS.sql, *DOMAINS.args(tenant=tenant_id))
        return tuple(r["name"] for r in rows)

    async def add_domain(self, tenant_id: uuid.UUID, name: str) -> None:
        async with self.connect() as conn:
            await self._insert_domains(conn, tenant_id, (name,))

    async def set_accepts_tenants(self, unit: ScaleUnitId, accepts: bool) -> None:
        """Whether placement may choose `unit` for new tenants (its own tenants stay either way)."""
        async with self.connect() as conn:
            found = await conn.fetchval(
                ACCEPTS.sql, *ACCEPTS.args(unit=unit, cloud=self.cloud.value, accepts=accepts)
            )
        if found is None:
            raise NotFound(f"no scale unit {unit!r} in cloud {self.cloud.value}")

    async def tenant_counts(self) -> dict[ScaleUnitId, int]:
        async with self.connect() as conn:
            rows = await conn.fetch(COUNTS.sql, *COUNTS.args(cloud=self.cloud.value))
        return {r["id"]: r["tenant_count"] for r in rows}
