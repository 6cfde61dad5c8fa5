"""Sign-in logs: every token request's outcome, kept in the tenant's own scale unit."""

from __future__ import annotations

from datetime import UTC, datetime

from corestore.handle import TenantHandle
from corestore.objects import Page, SignIn, field_names
from corestore.read_functions import call

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


class SignIns:
    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    async def list(self, top: int = 100, before: datetime | None = None) -> Page[SignIn]:
        """Newest first: one statement."""
        rows = await self.handle.fetch(
            call("sign_ins_page"),
            self.handle.tenant_id,
            before or FAR_FUTURE,
            top,
        )
        names = field_names(SignIn)
        return Page(tuple(SignIn(**{n: r[n] for n in names}) for r in rows), None)
