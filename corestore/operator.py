"""The operator context: tooling's explicit, named way to act on any tenant.

Services never use it for requests; they use `CoreStore.session(claims)` with the
claims of a verified token.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from corestore.catalog import Catalog, TenantState
from corestore.errors import InvalidRequest, LocationImmutable, NoCapacity, NotFound, TenantNotFound
from corestore.moves.drain import drain
from corestore.moves.mover import DEFAULT_COPY_MIB_S, Mover, MoveReport, Progress, quiet
from corestore.objects import User
from corestore.session import TenantSession
from corestore.types import Placement, Tenant, TenantId
from corestore.validation import DISPLAY_NAME, DOMAIN
from scale_units.errors import NoScaleUnitAvailable, UnknownCountry
from scale_units.model.geography import Cloud, Geo, parse_cloud
from scale_units.model.placement import PlacementPolicy
from scale_units.model.types import ScaleUnitId
from scale_units.routing import Router

INSERT_TENANT = "INSERT INTO tenants (tenant_id, display_name, country) VALUES ($1, $2, $3)"
DELETE_TENANT = "DELETE FROM tenants WHERE tenant_id = $1"  # every other row cascades
SessionOpener = Callable[[uuid.UUID, Placement], Awaitable[TenantSession]]


class Operator:
    def __init__(
        self, catalog: Callable[[Cloud], Catalog], open_session: SessionOpener, router: Router, mover: Mover
    ) -> None:
        self._catalog = catalog
        self._open = open_session
        self._router = router
        self._mover = mover

    async def create_tenant(
        self,
        display_name: str,
        country: str,
        cloud: str | Cloud = Cloud.PUBLIC,
        domains: tuple[str, ...] = (),
        policy: PlacementPolicy = PlacementPolicy.LEAST_LOADED,
    ) -> Tenant:
        """Country -> geo -> one scale unit of that geo; cloud and geo never change afterwards."""
        cloud, code, geo = self._locate(cloud, country)
        name = _display_name(display_name)
        names = tuple(_domain(d) for d in domains)
        tenant_id = uuid.uuid4()
        catalog = self._catalog(cloud)
        try:
            unit_id = await catalog.place(tenant_id, geo, names, policy)
        except NoScaleUnitAvailable as exc:
            raise NoCapacity(f"{cloud.value}/{geo.value}: {exc}") from None
        try:
            async with (await self._open(tenant_id, Placement(cloud, geo, unit_id))).write() as conn:
                await conn.execute(INSERT_TENANT, tenant_id, name, code)
            await catalog.set_state(tenant_id, TenantState.ACTIVE)
        except BaseException:
            await catalog.remove(tenant_id)
            raise
        return Tenant(TenantId(tenant_id), name, code, Placement(cloud, geo, unit_id), names)

    def _locate(self, cloud: str | Cloud, country: str) -> tuple[Cloud, str, Geo]:
        try:
            parsed = parse_cloud(str(cloud))
            geo = self._router.topology.countries.geo_for(parsed, country)
        except (ValueError, UnknownCountry) as exc:
            raise InvalidRequest(str(exc)) from None
        return parsed, country.strip().upper(), geo

    async def session(self, tenant_id: TenantId | uuid.UUID, cloud: Cloud = Cloud.PUBLIC) -> TenantSession:
        """An operator's session on one tenant, for tooling and experiments."""
        tid = tenant_id.value if isinstance(tenant_id, TenantId) else tenant_id
        catalog = self._catalog(cloud)
        entry = catalog.cached(tid)
        return await self._open(tid, entry.placement if entry else await catalog.served(tid))

    async def delete_tenant(self, tenant_id: TenantId | uuid.UUID, cloud: Cloud = Cloud.PUBLIC) -> None:
        """Purge every row of the tenant; if interrupted, calling again finishes the job."""
        tid = tenant_id.value if isinstance(tenant_id, TenantId) else tenant_id
        catalog = self._catalog(cloud)
        entry = await catalog.lookup(tid)
        if entry is None:
            raise TenantNotFound(f"no tenant {tid} in cloud {cloud.value}")
        await catalog.set_state(tid, TenantState.DELETING)
        async with (await self._open(tid, entry.placement)).write() as conn:
            await conn.execute(DELETE_TENANT, tid)
        await catalog.remove(tid)

    async def create_administrator(
        self,
        tenant_id: TenantId | uuid.UUID,
        user_principal_name: str,
        display_name: str,
        password: str,
        cloud: Cloud = Cloud.PUBLIC,
    ) -> User:
        """The tenant's first administrator: the one user an operator creates."""
        session = await self.session(tenant_id, cloud)
        return await session.users.create_administrator(
            user_principal_name=user_principal_name, display_name=display_name, password=password
        )

    async def add_domain(
        self, tenant_id: TenantId | uuid.UUID, name: str, cloud: Cloud = Cloud.PUBLIC
    ) -> None:
        tid = tenant_id.value if isinstance(tenant_id, TenantId) else tenant_id
        catalog = self._catalog(cloud)
        await catalog.served(tid)
        await catalog.add_domain(tid, _domain(name))

    async def set_unit_draining(self, unit: ScaleUnitId, draining: bool = True) -> None:
        """A draining unit takes no new tenants (an operator empties it to retire it); False
        opens it again. Its own tenants are served as before."""
        scale_unit = self._router.topology.scale_units.get(unit)
        if scale_unit is None:
            raise NotFound(f"no scale unit {unit!r} in this cluster")
        await self._catalog(scale_unit.cloud).set_accepts_tenants(unit, not draining)

    async def move_tenant(
        self,
        tenant_id: TenantId | uuid.UUID,
        unit_id: ScaleUnitId,
        progress: Progress = quiet,
        copy_mib_s: float | None = DEFAULT_COPY_MIB_S,
    ) -> MoveReport:
        """Move the tenant, online, to another scale unit of its geo and cloud (`corestore.moves`),
        its rows copied at `copy_mib_s` (None: unpaced); after a failure, calling again undoes or
        finishes the interrupted move."""
        tid = tenant_id.value if isinstance(tenant_id, TenantId) else tenant_id
        return await self._mover.move(tid, unit_id, progress, copy_mib_s)

    async def drain_unit(self, unit: ScaleUnitId, progress: Progress = quiet) -> list[MoveReport]:
        """Retire a unit: it takes no new tenants, and each of its tenants moves to the unit of
        its geo with the most free capacity, one at a time."""
        await self.set_unit_draining(unit)
        scale_unit = self._router.topology.scale_units[unit]
        try:
            return await drain(self._catalog(scale_unit.cloud), self._mover, scale_unit, progress)
        except NoScaleUnitAvailable as exc:
            raise NoCapacity(f"{unit} cannot drain: {exc}") from None

    async def relocate_tenant(self, tenant_id: TenantId | uuid.UUID, **_: object) -> None:
        """Always refused: a tenant's cloud and geo are fixed at creation (`move_tenant` changes
        its scale unit within them)."""
        raise LocationImmutable(f"tenant {tenant_id}: location can't be changed after it's set")


def _display_name(value: str) -> str:
    limit = DISPLAY_NAME.max_length or 0
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\x00" in value:
        raise InvalidRequest(f"display_name must be 1 to {limit} characters")
    return value.strip()


def _domain(value: str) -> str:
    name = value.strip().lower() if isinstance(value, str) else ""
    if not DOMAIN.match(name):
        raise InvalidRequest(f"{value!r} is not a domain name")
    return name
