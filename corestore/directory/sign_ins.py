"""Sign-in logs: every token request's outcome, kept in the tenant's own scale unit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from corestore.handle import TenantHandle
from corestore.objects import Page, SignIn, field_names
from corestore.sql import call

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


class SignIns:
    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    async def record(
        self,
        result: str,
        principal: str,
        region: str,
        reason: str | None = None,
        principal_id: uuid.UUID | None = None,
        client_address: str | None = None,
    ) -> None:
        async with self.handle.write() as conn:
            await conn.execute(
                "INSERT INTO sign_ins (tenant_id, id, result, reason, principal, principal_id,"
                " client_address, region) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                self.handle.tenant_id,
                uuid.uuid4(),
                result,
                reason,
                principal[:256],
                principal_id,
                client_address,
                region,
            )

    async def list(self, top: int = 100, before: datetime | None = None) -> Page[SignIn]:
        """Newest first: one statement."""
        rows = await self.handle.fetch(
            call("sign_ins_page", 3),
            self.handle.tenant_id,
            before or FAR_FUTURE,
            top,
        )
        names = field_names(SignIn)
        return Page(tuple(SignIn(**{n: r[n] for n in names}) for r in rows), None)
