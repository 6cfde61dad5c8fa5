"""The tenant itself, as Graph's /organization: its own row in its scale unit, its domains from
the catalog (which holds them, since a domain names a tenant before its unit is known)."""

from __future__ import annotations

from corestore.errors import NotFound
from corestore.handle import TenantHandle
from corestore.objects import Organization
from corestore.read_functions import call


class Organizations:
    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    async def get(self, domains: tuple[str, ...]) -> Organization:
        """The tenant's row, one statement; `domains` are its verified domains (`Catalog.domains`)."""
        rows = await self.handle.fetch(call("organization"), self.handle.tenant_id)
        if not rows:
            raise NotFound(f"no tenant {self.handle.tenant_id}")
        row = rows[0]
        return Organization(row["tenant_id"], row["display_name"], row["country"], row["created_at"], domains)
