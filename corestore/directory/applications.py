"""Applications, their service principals, and client secrets.

A client secret is generated here with 256 bits of entropy and stored only as a
keyed hash (HMAC-SHA256, a per-cluster key, the tenant id mixed in): a fast hash
is right for a random secret; slow hashing is for passwords, which people choose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from corestore.directory.base import Repository
from corestore.errors import InvalidRequest, NotFound
from corestore.filters import ColumnKind, FilterableColumn
from corestore.objects import Application, ClientSecret, ServicePrincipal
from corestore.schema import ApplicationRow, ClientSecretRow, ServicePrincipalRow
from corestore.sql import cached
from corestore.validation import DISPLAY_NAME, FieldRule, parse_id

MAX_SECRET_DAYS = 730


class Applications(Repository[Application]):
    row = ApplicationRow
    record = Application
    filterable = {
        "id": FilterableColumn(ApplicationRow.id, ColumnKind.UUID),
        "appId": FilterableColumn(ApplicationRow.app_id, ColumnKind.UUID),
        "displayName": FilterableColumn(ApplicationRow.display_name, ColumnKind.STRING),
    }
    rules = {"display_name": DISPLAY_NAME}
    required = frozenset({"display_name"})
    updatable = frozenset({"display_name"})

    async def _created(self, s: AsyncSession, record: Application) -> None:
        """Its service principal in this tenant, in the same transaction."""
        s.add(
            ServicePrincipalRow(
                tenant_id=self.session.tenant_id,
                id=uuid.uuid4(),
                app_id=record.app_id,
                display_name=record.display_name,
            )
        )

    async def add_secret(self, application_id: str | uuid.UUID, lifetime_days: int = 365) -> ClientSecret:
        if not 1 <= lifetime_days <= MAX_SECRET_DAYS:
            raise InvalidRequest(f"lifetime_days must be between 1 and {MAX_SECRET_DAYS}")
        aid = parse_id(application_id)
        text = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(days=lifetime_days)
        row = ClientSecretRow(
            tenant_id=self.session.tenant_id,
            id=uuid.uuid4(),
            application_id=aid,
            hint=text[:3],
            secret_hash=self._digest(text),
            expires_at=expires,
        )
        async with self.session.write() as s:
            if await s.get(ApplicationRow, (self.session.tenant_id, aid)) is None:
                raise NotFound(f"no application {aid}")
            s.add(row)
        return ClientSecret(row.id, aid, row.hint, expires, text)

    def _digest(self, secret_text: str) -> bytes:
        key = self.session.store.secret_key
        return hmac.new(key, self.session.tenant_id.bytes + secret_text.encode(), hashlib.sha256).digest()

    async def verify_client_secret(
        self, app_id: str | uuid.UUID, secret_text: str
    ) -> ServicePrincipal | None:
        """The enabled service principal of `app_id` if `secret_text` is one of its live secrets."""
        try:
            aid = parse_id(app_id)
        except NotFound:
            return None
        query = cached(
            "applications:secrets",
            lambda: (
                select(ClientSecretRow.secret_hash)
                .join(
                    ApplicationRow,
                    (ApplicationRow.tenant_id == ClientSecretRow.tenant_id)
                    & (ApplicationRow.id == ClientSecretRow.application_id),
                )
                .where(
                    ClientSecretRow.tenant_id == bindparam("tenant"),
                    ApplicationRow.app_id == bindparam("app"),
                    ClientSecretRow.expires_at > bindparam("now"),
                )
            ),
        )
        digest = self._digest(secret_text)
        rows = await self.session.fetch(
            query.sql, *query.args(tenant=self.session.tenant_id, app=aid, now=datetime.now(UTC))
        )
        if not any(hmac.compare_digest(bytes(r["secret_hash"]), digest) for r in rows):
            return None
        principal = await ServicePrincipals(self.session).by_app_id(aid)
        return principal if principal is not None and principal.account_enabled else None


class ServicePrincipals(Repository[ServicePrincipal]):
    row = ServicePrincipalRow
    record = ServicePrincipal
    filterable = {
        "id": FilterableColumn(ServicePrincipalRow.id, ColumnKind.UUID),
        "appId": FilterableColumn(ServicePrincipalRow.app_id, ColumnKind.UUID),
        "displayName": FilterableColumn(ServicePrincipalRow.display_name, ColumnKind.STRING),
        "accountEnabled": FilterableColumn(ServicePrincipalRow.account_enabled, ColumnKind.BOOL),
    }
    rules = {"display_name": DISPLAY_NAME, "account_enabled": FieldRule(bool)}
    required = frozenset({"display_name"})
    updatable = frozenset({"display_name", "account_enabled"})

    async def create(self, **values: Any) -> ServicePrincipal:
        raise InvalidRequest("a service principal is created with its application")

    async def by_app_id(self, app_id: uuid.UUID) -> ServicePrincipal | None:
        page = await self.list(filter=f"appId eq {app_id}", top=1)
        return page.items[0] if page.items else None
