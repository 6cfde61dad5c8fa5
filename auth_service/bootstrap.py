"""The front end's composition root: one instance's object graph, built from its configuration.

As in Cosmic Python's `bootstrap()`: every collaborator is made here, once, and handed
the narrow parts it uses; a caller may pass its own state, topology, key ring, lockout
policy or throttle instead of the defaults.
"""

from __future__ import annotations

import uuid

from auth_service.frontend import FrontEnd, FrontEndConfig
from auth_service.http.deps import Gate
from auth_service.http.geo_fence import Confinement
from auth_service.http.throttle import Throttle
from auth_service.keys.ring import KeyRing
from auth_service.keys.store import KeyStore
from auth_service.metrics.collector import StoreCollector
from auth_service.metrics.families import FrontEndMetrics
from auth_service.oauth.authentication import Authentication
from auth_service.oauth.csrf import CsrfGuard
from auth_service.oauth.grants import Grants
from auth_service.oauth.id_tokens import IdTokenIssuer
from auth_service.oauth.issuance import Issuance
from auth_service.oauth.lockout import LockoutPolicy
from auth_service.oauth.sign_in_writer import SignInWriter
from auth_service.oauth.tenants import Tenants
from auth_service.oauth.tokens import TokenIssuer, TokenVerifier
from auth_service.services import Services
from corestore.retention import RetentionJob
from corestore.servers.monitor import ReplicaMonitor
from corestore.servers.readiness import problems
from corestore.session import TenantSession
from corestore.store import CoreStore
from scale_units.errors import ClusterError
from scale_units.model.geography import Geo
from scale_units.model.topology import Topology
from scale_units.registry import FrontEndRegistry
from scale_units.state import ClusterState
from scale_units.wan.links import FrontEndLinks


def bootstrap(
    config: FrontEndConfig,
    state: ClusterState | None = None,
    topology: Topology | None = None,
    *,
    keys: KeyRing | None = None,
    lockout: LockoutPolicy | None = None,
    throttle: Throttle | None = None,
) -> FrontEnd:
    """An instance of `config.region`; the servers' roles are discovered here, once, unless given."""
    state = state or ClusterState.load(config.directory)
    topology = topology or state.discover()
    region = topology.regions.get(config.region)
    if region is None:
        known = ", ".join(sorted(topology.regions))
        raise ClusterError(f"unknown region {config.region!r} (this cluster has: {known})")
    cloud = region.cloud
    registry = FrontEndRegistry(config.directory, topology)

    def nearest(geo: Geo) -> str | None:
        found = registry.nearest(cloud, geo, region.name)
        return found.url_from(region.name) if found else None

    store = CoreStore(state, topology, region.name, config.pool_size)
    sign_ins = SignInWriter(store, config.sign_in_flush_s)
    ring = keys or KeyStore(config.directory / "keys").ring(cloud)
    verifier = TokenVerifier(ring, cloud)
    id_tokens = IdTokenIssuer(ring, cloud)
    issuance = Issuance(TokenIssuer(ring, cloud, lifetime_s=config.access_token_lifetime_s), id_tokens)
    authentication = Authentication(lockout or LockoutPolicy(), sign_ins.record, region.name)
    confinement = Confinement(cloud, region.geo, topology.countries, nearest)

    async def authentication_session(tenant_id: uuid.UUID) -> TenantSession:
        return await store.authentication_session(tenant_id, cloud)

    async def readiness() -> list[str]:
        return await problems(store.pools, store.router, cloud, region.geo)

    monitor = ReplicaMonitor(store.router, store.pools, geo=region.geo)
    metrics = FrontEndMetrics()
    metrics.registry.register(StoreCollector(store, monitor, verifier))

    services = Services(
        region=region.name,
        gate=Gate(verifier, store.session, confinement, throttle or Throttle(config.limits), region.name),
        tenants=Tenants(store.catalog(cloud), authentication_session),
        grants=Grants(authentication, issuance, verifier),
        confinement=confinement,
        verifier=verifier,
        id_tokens=id_tokens,
        keys=ring,
        csrf=CsrfGuard(state.credentials.secret_hash_key),
        operator=store.operator,
        operator_key=state.credentials.operator,
        metrics=metrics,
        readiness=readiness,
    )
    links = None if config.url is None else FrontEndLinks.of(state, region.name, config.url)
    retention = RetentionJob(store.catalog(cloud), store.operator, region.geo, config.retention)
    return FrontEnd(services, store, monitor, sign_ins, retention, registry, links, config.url)
