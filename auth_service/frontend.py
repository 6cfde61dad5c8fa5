"""One front-end instance: its region and cloud, the store, keys, and the per-instance policies.

Stateless in the sense that matters: everything here is a cache or a policy;
killing an instance loses nothing, and another instance serves the same clients.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth_service.errors import BadRequest, ServedElsewhere
from auth_service.http.throttle import Limits, Throttle
from auth_service.keys.store import KeyStore
from auth_service.metrics.collector import StoreCollector
from auth_service.metrics.families import FrontEndMetrics
from auth_service.oauth.csrf import CsrfGuard
from auth_service.oauth.id_tokens import IdTokenIssuer
from auth_service.oauth.lockout import LockoutPolicy
from auth_service.oauth.permissions import ADMIN_SCOPES, USER_SCOPES
from auth_service.oauth.sign_in_writer import INTERVAL_S as SIGN_IN_FLUSH_S
from auth_service.oauth.sign_in_writer import SignInWriter
from auth_service.oauth.tokens import TokenIssuer, TokenVerifier
from corestore.directory.app_roles import role_values
from corestore.directory.applications import AppSignIn
from corestore.errors import TenantNotFound
from corestore.monitor import ReplicaMonitor
from corestore.objects import User
from corestore.store import CoreStore
from corestore.types import Placement
from scale_units.errors import ClusterError, UnknownCountry
from scale_units.model.geography import Geo
from scale_units.model.topology import Topology
from scale_units.registry import FrontEndEntry, FrontEndRegistry
from scale_units.state import ClusterState
from scale_units.wan.links import FrontEndLinks

MAX_DOMAIN = 253


@dataclass(frozen=True)
class FrontEndConfig:
    region: str
    directory: Path
    limits: Limits = field(default_factory=Limits)
    pool_size: int = 20
    access_token_lifetime_s: int = 3600
    sign_in_flush_s: float = SIGN_IN_FLUSH_S
    url: str | None = None  # where clients reach this instance: registered, for other geos' redirects


class FrontEnd:
    def __init__(self, config: FrontEndConfig, state: ClusterState, topology: Topology) -> None:
        """`topology`: the snapshot `open` discovered; the monitor keeps the store's router current."""
        region = topology.regions.get(config.region)
        if region is None:
            known = ", ".join(sorted(topology.regions))
            raise ClusterError(f"unknown region {config.region!r} (this cluster has: {known})")
        self.region = region.name
        self.cloud = region.cloud
        self.geo = region.geo
        self.url = config.url
        self.registry = FrontEndRegistry(config.directory, topology)
        self._registration: Path | None = None
        # With the WAN on, where clients of other regions reach this instance (and only there).
        self.links = None if config.url is None else FrontEndLinks.of(state, region.name, config.url)
        self.store = CoreStore(state, topology, region.name, config.pool_size)
        self.monitor = ReplicaMonitor(self.store.router, self.store.pools, state.apis, geo=region.geo)
        self.sign_ins = SignInWriter(self.store, config.sign_in_flush_s)
        self.keys = KeyStore(config.directory / "keys").ring(self.cloud)
        self.token_issuer = TokenIssuer(self.keys, self.cloud, lifetime_s=config.access_token_lifetime_s)
        self.verifier = TokenVerifier(self.keys, self.cloud)
        self.id_tokens = IdTokenIssuer(self.keys, self.cloud)
        self.csrf = CsrfGuard(state.credentials.secret_hash_key)
        self.lockout = LockoutPolicy()
        self.throttle = Throttle(config.limits)
        self.operator_key = state.credentials.operator
        self.metrics = FrontEndMetrics()
        self.metrics.registry.register(StoreCollector(self.store, self.monitor, self.verifier))

    @classmethod
    def open(cls, config: FrontEndConfig) -> FrontEnd:
        """An instance on the cluster in `config.directory`: the servers' roles discovered once, here."""
        state = ClusterState.load(config.directory)
        return cls(config, state, state.discover())

    async def start(self) -> None:
        self.monitor.start()
        self.sign_ins.start()
        if self.url is not None:
            links = {} if self.links is None else await self.links.start()
            self._registration = self.registry.register(
                FrontEndEntry(self.region, self.url, os.getpid(), socket.gethostname(), links)
            )

    async def close(self) -> None:
        """The sign-in log drains first: it still needs the store."""
        if self._registration is not None:
            self.registry.unregister(self._registration)
        if self.links is not None:
            self.links.close()
        await self.sign_ins.close()
        await self.monitor.stop()
        await self.store.close()

    async def find_tenant(self, tenant: str) -> tuple[uuid.UUID, Placement] | None:
        """A tenant named by id or verified domain (as in a path), and where it lives, if this
        cloud serves it."""
        catalog = self.store.catalog(self.cloud)
        try:
            tenant_id: uuid.UUID | None = uuid.UUID(tenant)
        except ValueError:
            tenant_id = await catalog.resolve_domain(tenant) if len(tenant) <= MAX_DOMAIN else None
        if tenant_id is None:
            return None
        with contextlib.suppress(TenantNotFound):
            return tenant_id, await catalog.served(tenant_id)
        return None

    async def locate(self, tenant: str) -> Placement | None:
        """Where a tenant named by id or verified domain lives, if this cloud knows it."""
        found = await self.find_tenant(tenant)
        return None if found is None else found[1]

    def elsewhere(self, geo: Geo) -> str | None:
        """None if this instance serves tenants of `geo` (its own); else the URL of the nearest
        front end of this cloud that does (with the WAN on, its link from this region), or ""
        when none is registered."""
        if geo is self.geo:
            return None
        found = self.registry.nearest(self.cloud, geo, self.region)
        return (found and found.url_from(self.region)) or ""

    def confine(self, geo: Geo) -> None:
        """Refuse (421) a tenant of another geo, before anything of it is processed."""
        target = self.elsewhere(geo)
        if target is not None:
            where = f"; send it to {target}" if target else ""
            raise ServedElsewhere(f"this front end serves {self.geo.value} tenants, not {geo.value}{where}")

    def geo_for(self, country: str) -> Geo:
        """The geo a new tenant of `country` is placed in, in this cloud."""
        try:
            return self.store.topology.countries.geo_for(self.cloud, country)
        except UnknownCountry as exc:
            raise BadRequest(str(exc)) from None

    def algorithms(self) -> list[str]:
        """The signing algorithms of this cloud's live keys, as discovery lists them."""
        return sorted({k["alg"] for k in self.keys.jwks()["keys"]})

    def user_tokens(self, tenant_id: uuid.UUID, user: User, client_id: str | None) -> dict[str, Any]:
        scopes = ADMIN_SCOPES if user.admin else USER_SCOPES
        access = self.token_issuer.issue_access(
            tenant_id=tenant_id, object_id=user.id, subject=str(user.id), scopes=scopes, client_id=client_id
        )
        refresh = self.token_issuer.issue_refresh(tenant_id=tenant_id, object_id=user.id, client_id=client_id)
        return {
            "token_type": "Bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.token_issuer.lifetime_s,
            "scope": " ".join(scopes),
        }

    def app_tokens(self, tenant_id: uuid.UUID, app: AppSignIn) -> dict[str, Any]:
        """An application's token: `roles` are exactly the app roles assigned to it (maybe none)."""
        access = self.token_issuer.issue_access(
            tenant_id=tenant_id,
            object_id=app.principal.id,
            subject=str(app.principal.id),
            roles=role_values(app.app_role_ids),
            client_id=str(app.principal.app_id),
        )
        return {"token_type": "Bearer", "access_token": access, "expires_in": self.token_issuer.lifetime_s}
