"""The library's entry point: one `CoreStore` per process, wired to a running cluster.

store = CoreStore.open(region="westeurope")
tenant = await store.operator.create_tenant("Contoso", country="FR", domains=("contoso.example",))
session = await store.operator.session(tenant.id)      # tooling; services use store.session(claims)
user = await session.users.create(user_principal_name="alice@contoso.example", display_name="Alice")
"""

from __future__ import annotations

import uuid
from pathlib import Path

from corestore.catalog import Catalog
from corestore.errors import TenantNotFound
from corestore.moves.mover import Mover
from corestore.operator import Operator
from corestore.pools import Pools
from corestore.servers.stats import StoreStats
from corestore.servers.unit_discovery import UnitDiscovery
from corestore.session import TenantSession
from corestore.sign_in_log import SignInLog
from corestore.types import CommitPosition, Placement, VerifiedTenantClaims
from scale_units.model.geography import Cloud
from scale_units.model.topology import ScaleUnit, Topology
from scale_units.model.types import RegionName
from scale_units.routing import Router
from scale_units.state import ClusterState, default_state_dir


class CoreStore:
    def __init__(
        self, state: ClusterState, topology: Topology, region: RegionName | None = None, pool_size: int = 10
    ) -> None:
        """`topology`: a snapshot the caller discovered (`ClusterState.discover`); the store's
        monitor, where one runs, keeps its router current after that."""
        if region is not None and region not in topology.regions:
            raise ValueError(f"unknown region {region!r}")
        self.router = Router(topology, region)
        self.pools = Pools(state, pool_size, region)
        self.stats = StoreStats()  # reads by server, consistency waits, commits: for metrics
        self._secret_key = state.credentials.secret_hash_key.encode()
        self.units = UnitDiscovery(self.pools, self.router)
        self._catalogs = {cloud: Catalog(cloud, self.pools, self.router) for cloud in topology.clouds()}
        self.operator = Operator(
            self.catalog, self._open, self.router, Mover(self.units, self.router, self.catalog)
        )
        self.sign_in_log = SignInLog(self.pools, self.router, self._relocate)

    @classmethod
    def open(
        cls, directory: Path | None = None, region: RegionName | None = None, pool_size: int = 10
    ) -> CoreStore:
        """A store on the local cluster whose state is in `directory` (default: $CORESTORE_HOME):
        the library's composition root, which discovers the servers' roles once."""
        state = ClusterState.load(directory or default_state_dir())
        return cls(state, state.discover(), region, pool_size)

    @property
    def topology(self) -> Topology:
        return self.router.topology

    def catalog(self, cloud: Cloud) -> Catalog:
        try:
            return self._catalogs[cloud]
        except KeyError:
            raise TenantNotFound(f"this cluster has no {cloud.value} cloud") from None

    async def placement(self, tenant_id: uuid.UUID, cloud: Cloud) -> Placement:
        """An active tenant's placement; anything else is `TenantNotFound`."""
        return await self.catalog(cloud).served(tenant_id)

    async def session(
        self, claims: VerifiedTenantClaims, consistency: CommitPosition | None = None
    ) -> TenantSession:
        """A session for the tenant of a verified token: its `tid` is the only tenant it can see."""
        tenant_id, cloud = claims.tenant_id, claims.cloud
        entry = self.catalog(cloud).cached(tenant_id)
        placement = entry.placement if entry else await self.placement(tenant_id, cloud)
        return await self._open(tenant_id, placement, consistency)

    async def authentication_session(self, tenant_id: uuid.UUID, cloud: Cloud) -> TenantSession:
        """The authentication service's context: before a token exists, the tenant named in
        the token request (to check credentials and log the sign-in), never for directory calls."""
        return await self._open(tenant_id, await self.placement(tenant_id, cloud))

    async def _open(
        self, tenant_id: uuid.UUID, placement: Placement, consistency: CommitPosition | None = None
    ) -> TenantSession:
        """The one place a `TenantSession` is made (for `session`, `authentication_session`
        and the operator context)."""
        unit_id = placement.scale_unit
        scale_unit = self.router.topology.scale_units.get(unit_id) or await self.units.unit(unit_id)
        return TenantSession(
            tenant_id,
            scale_unit,
            self.pools,
            self.router,
            self._secret_key,
            self.stats,
            consistency,
            self._relocate,
            placement.epoch,
        )

    async def _relocate(self, tenant_id: uuid.UUID, cloud: Cloud) -> tuple[ScaleUnit, int]:
        """Where a tenant lives now and its epoch, asked of the catalog (after a unit said it moved)."""
        catalog = self.catalog(cloud)
        catalog.forget(tenant_id)
        placement = await catalog.served(tenant_id)
        return await self.units.unit(placement.scale_unit), placement.epoch

    async def close(self) -> None:
        await self.pools.close()
