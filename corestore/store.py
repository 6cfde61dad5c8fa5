"""The library's entry point: one `CoreStore` per process, wired to a running cluster.

store = CoreStore.open(region="westeurope")
tenant = await store.operator.create_tenant("Contoso", country="FR", domains=("contoso.example",))
session = await store.operator.session(tenant.id)      # tooling; services use store.session(claims)
user = await session.users.create(user_principal_name="alice@contoso.example", display_name="Alice")
"""

from __future__ import annotations

import uuid
from pathlib import Path

from corestore.catalog import Catalog, CatalogEntry
from corestore.engines import Engines
from corestore.errors import TenantNotFound
from corestore.session import TenantSession
from corestore.types import ConsistencyToken, VerifiedTenantClaims
from scale_units.geography import Cloud
from scale_units.routing import Router
from scale_units.state import ClusterState, default_state_dir
from scale_units.topology import Topology
from scale_units.types import RegionName


class CoreStore:
    def __init__(self, state: ClusterState, region: RegionName | None = None, pool_size: int = 10) -> None:
        self.state = state
        self.topology: Topology = state.topology
        if region is not None and region not in self.topology.regions:
            raise ValueError(f"unknown region {region!r}")
        self.router = Router(self.topology, region)
        self.engines = Engines(state, pool_size)
        self.secret_key = state.credentials.secret_hash_key.encode()
        self._catalogs = {cloud: Catalog(self, cloud) for cloud in self.topology.clouds()}
        from corestore.operator import Operator

        self.operator = Operator(self)

    @classmethod
    def open(
        cls, directory: Path | None = None, region: RegionName | None = None, pool_size: int = 10
    ) -> CoreStore:
        """A store on the local cluster whose state is in `directory` (default: $CORESTORE_HOME)."""
        return cls(ClusterState.load(directory or default_state_dir()), region, pool_size)

    def catalog(self, cloud: Cloud) -> Catalog:
        try:
            return self._catalogs[cloud]
        except KeyError:
            raise TenantNotFound(f"this cluster has no {cloud.value} cloud") from None

    async def placement(self, tenant_id: uuid.UUID, cloud: Cloud) -> CatalogEntry:
        """An active tenant's catalog entry; anything else is `TenantNotFound`."""
        entry = await self.catalog(cloud).lookup(tenant_id)
        if entry is None or entry.state != "active":
            raise TenantNotFound(f"no tenant {tenant_id} in cloud {cloud.value}")
        return entry

    async def session(
        self, claims: VerifiedTenantClaims, consistency: ConsistencyToken | None = None
    ) -> TenantSession:
        """A session for the tenant of a verified token: its `tid` is the only tenant it can see."""
        entry = await self.placement(claims.tenant_id, claims.cloud)
        return TenantSession(self, claims.tenant_id, self.topology.scale_units[entry.scale_unit], consistency)

    async def authentication_session(self, tenant_id: uuid.UUID, cloud: Cloud) -> TenantSession:
        """The authentication service's context: before a token exists, the tenant named in
        the token request (to check credentials and log the sign-in), never for directory calls."""
        entry = await self.placement(tenant_id, cloud)
        return TenantSession(self, tenant_id, self.topology.scale_units[entry.scale_unit])

    def reload_topology(self, topology: Topology) -> None:
        """Follow roles changed by a failover, as Patroni reports them (the monitor asks)."""
        self.topology = topology
        self.router = self.router.with_topology(topology)

    async def close(self) -> None:
        await self.engines.dispose()
