"""One front-end instance: its region and cloud, the store, keys, and the per-instance policies.

Stateless in the sense that matters: everything here is a cache or a policy;
killing an instance loses nothing, and another instance serves the same clients.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth_service.csrf import CsrfGuard
from auth_service.id_tokens import IdTokenIssuer
from auth_service.keyfile import KeyStore
from auth_service.lockout import LockoutPolicy
from auth_service.throttle import Limits, Throttle
from auth_service.tokens import TokenIssuer, TokenVerifier, VerifiedToken, issuer_for
from corestore.monitor import ReplicaMonitor
from corestore.objects import ServicePrincipal, User
from corestore.store import CoreStore
from scale_units.errors import ClusterError
from scale_units.state import ClusterState

USER_SCOPES = ("User.Read", "Directory.Read.All")
ADMIN_SCOPES = (*USER_SCOPES, "Directory.ReadWrite.All", "AuditLog.Read.All")
APP_ROLES = ("Directory.ReadWrite.All", "AuditLog.Read.All")


@dataclass(frozen=True)
class FrontEndConfig:
    region: str
    directory: Path
    limits: Limits = field(default_factory=Limits)
    pool_size: int = 20
    access_token_lifetime_s: int = 3600


class FrontEnd:
    def __init__(self, config: FrontEndConfig) -> None:
        state = ClusterState.load(config.directory)
        region = state.topology.regions.get(config.region)
        if region is None:
            known = ", ".join(sorted(state.topology.regions))
            raise ClusterError(f"unknown region {config.region!r} (this cluster has: {known})")
        self.region = region.name
        self.cloud = region.cloud
        self.store = CoreStore(state, region.name, config.pool_size)
        self.monitor = ReplicaMonitor(self.store)
        self.keys = KeyStore(config.directory / "keys").ring(self.cloud)
        self.token_issuer = TokenIssuer(self.keys, self.cloud, lifetime_s=config.access_token_lifetime_s)
        self.verifier = TokenVerifier(self.keys, self.cloud)
        self.id_tokens = IdTokenIssuer(self.keys, self.cloud)
        self.csrf = CsrfGuard(state.credentials.secret_hash_key)
        self.lockout = LockoutPolicy()
        self.throttle = Throttle(config.limits)
        self.operator_key = state.credentials.operator

    async def start(self) -> None:
        self.monitor.start()

    async def close(self) -> None:
        await self.monitor.stop()
        await self.store.close()

    def verify(self, token: str) -> VerifiedToken:
        return self.verifier.verify_access(token)

    def verify_refresh(self, token: str) -> VerifiedToken:
        return self.verifier.verify_refresh(token)

    def issuer(self, tenant_id: uuid.UUID) -> str:
        return issuer_for(self.cloud, tenant_id)

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks()

    def algorithms(self) -> list[str]:
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

    def app_tokens(self, tenant_id: uuid.UUID, principal: ServicePrincipal) -> dict[str, Any]:
        access = self.token_issuer.issue_access(
            tenant_id=tenant_id,
            object_id=principal.id,
            subject=str(principal.id),
            roles=APP_ROLES,
            client_id=str(principal.app_id),
        )
        return {"token_type": "Bearer", "access_token": access, "expires_in": self.token_issuer.lifetime_s}
