"""Sign-in logs: every token request's outcome, written to the tenant's own scale unit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select

from corestore.objects import Page, SignIn, field_names
from corestore.schema import SignInRow
from corestore.sql import cached

if TYPE_CHECKING:
    from corestore.session import TenantSession

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


class SignIns:
    def __init__(self, session: TenantSession) -> None:
        self.session = session

    async def record(
        self,
        result: str,
        principal: str,
        region: str,
        reason: str | None = None,
        principal_id: uuid.UUID | None = None,
        client_address: str | None = None,
    ) -> None:
        async with self.session.write() as s:
            s.add(
                SignInRow(
                    tenant_id=self.session.tenant_id,
                    id=uuid.uuid4(),
                    result=result,
                    reason=reason,
                    principal=principal[:256],
                    principal_id=principal_id,
                    client_address=client_address,
                    region=region,
                )
            )

    async def list(self, top: int = 100, before: datetime | None = None) -> Page[SignIn]:
        """Newest first."""
        columns = [SignInRow.__table__.c[n] for n in field_names(SignIn)]
        query = cached(
            "sign_ins:list",
            lambda: (
                select(*columns)
                .where(
                    SignInRow.tenant_id == bindparam("tenant"),
                    SignInRow.created_at < bindparam("before"),
                )
                .order_by(SignInRow.created_at.desc())
                .limit(bindparam("limit"))
            ),
        )
        rows = await self.session.fetch(
            query.sql,
            *query.args(
                tenant=self.session.tenant_id,
                before=before or FAR_FUTURE,
                limit=top,
            ),
        )
        return Page(tuple(SignIn(**dict(r)) for r in rows), None)
