"""The tenants of this front end's cloud as a request names them: by id or by verified domain.

Before a token exists (the token endpoint, the sign-in page, discovery, sign-out) the
tenant comes from the path; this is where that name becomes a tenant id, and where the
authentication context's session for it is opened.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable

from auth_service.oauth.aadsts import aadsts
from corestore.catalog import Catalog
from corestore.errors import TenantNotFound
from corestore.session import TenantSession
from corestore.types import Placement

MAX_DOMAIN = 253
# The authentication context's session of a tenant (`CoreStore.authentication_session`).
OpenSession = Callable[[uuid.UUID], Awaitable[TenantSession]]


class Tenants:
    def __init__(self, catalog: Catalog, open_session: OpenSession) -> None:
        self.catalog = catalog
        self.open_session = open_session

    async def find(self, tenant: str) -> tuple[uuid.UUID, Placement] | None:
        """A tenant named by id or verified domain, and where it lives, if this cloud serves it."""
        try:
            tenant_id: uuid.UUID | None = uuid.UUID(tenant)
        except ValueError:
            tenant_id = await self.catalog.resolve_domain(tenant) if len(tenant) <= MAX_DOMAIN else None
        if tenant_id is None:
            return None
        with contextlib.suppress(TenantNotFound):
            return tenant_id, await self.catalog.served(tenant_id)
        return None

    async def locate(self, tenant: str) -> Placement | None:
        """Where a tenant named by id or verified domain lives, if this cloud knows it."""
        found = await self.find(tenant)
        return None if found is None else found[1]

    async def resolve(self, tenant: str) -> uuid.UUID:
        """A tenant id from the path: a GUID, or a verified domain of this cloud."""
        found = await self.find(tenant)
        if found is None:
            raise TenantNotFound(aadsts(90002, repr(tenant[:64])))
        return found[0]

    async def session(self, tenant_id: uuid.UUID) -> TenantSession:
        return await self.open_session(tenant_id)
