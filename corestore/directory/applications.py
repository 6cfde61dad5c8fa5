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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, LargeBinary, String, Uuid, bindparam, insert, select

from corestore.directory.base import Repository
from corestore.errors import InvalidRequest, NotFound
from corestore.filters import ColumnKind, FilterableColumn
from corestore.handle import TenantHandle
from corestore.objects import Application, ClientSecret, ServicePrincipal
from corestore.pools import Connection
from corestore.schema import ApplicationRow, ClientSecretRow, ServicePrincipalRow
from corestore.sql import cached, call
from corestore.validation import DISPLAY_NAME, FieldRule, parse_id

MAX_SECRET_DAYS = 730


@dataclass(frozen=True)
class AppSignIn:
    """An application that proved its secret: its service principal and the app role ids
    an administrator assigned to it (`assignments`)."""

    principal: ServicePrincipal
    app_role_ids: tuple[uuid.UUID, ...]


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

    def __init__(self, handle: TenantHandle, secret_key: bytes) -> None:
        super().__init__(handle)
        self._secret_key = secret_key

    async def _created(self, conn: Connection, record: Application) -> None:
        """Its service principal in this tenant, in the same transaction."""
        await ServicePrincipals(self.handle)._insert(
            conn, {"app_id": record.app_id, "display_name": record.display_name}
        )

    async def add_secret(self, application_id: str | uuid.UUID, lifetime_days: int = 365) -> ClientSecret:
        if not 1 <= lifetime_days <= MAX_SECRET_DAYS:
            raise InvalidRequest(f"lifetime_days must be between 1 and {MAX_SECRET_DAYS}")
        aid = parse_id(application_id)
        text = secrets.token_urlsafe(32)
        secret = ClientSecret(
            uuid.uuid4(), aid, text[:3], datetime.now(UTC) + timedelta(days=lifetime_days), text
        )
        query = cached(
            "client_secrets:insert",
            lambda: insert(ClientSecretRow).from_select(
                ["tenant_id", "id", "application_id", "hint", "secret_hash", "expires_at"],
                select(
                    ApplicationRow.tenant_id,
                    bindparam("id", type_=Uuid),
                    ApplicationRow.id,
                    bindparam("hint", type_=String),
                    bindparam("hash", type_=LargeBinary),
                    bindparam("expires", type_=DateTime(timezone=True)),
                ).where(
                    ApplicationRow.tenant_id == bindparam("tenant"), ApplicationRow.id == bindparam("app")
                ),
            ),
        )
        async with self.handle.write() as conn:
            status = await conn.execute(
                query.sql,
                *query.args(
                    tenant=self.handle.tenant_id,
                    app=aid,
                    id=secret.id,
                    hint=secret.hint,
                    hash=self._digest(text),
                    expires=secret.expires_at,
                ),
            )
            if status == "INSERT 0 0":
                raise NotFound(f"no application {aid}")
        return secret

    def _digest(self, secret_text: str) -> bytes:
        message = self.handle.tenant_id.bytes + secret_text.encode()
        return hmac.new(self._secret_key, message, hashlib.sha256).digest()

    async def verify_client_secret(self, app_id: str | uuid.UUID, secret_text: str) -> AppSignIn | None:
        """The enabled service principal of `app_id` and its assigned app roles, if `secret_text`
        is one of its live secrets: one statement for the hashes, the principal and the roles."""
        try:
            aid = parse_id(app_id)
        except NotFound:
            return None
        rows = await self.handle.fetch(
            call("client_credentials", 3),
            self.handle.tenant_id,
            aid,
            datetime.now(UTC),
        )
        digest = self._digest(secret_text)
        if not any(hmac.compare_digest(bytes(r["secret_hash"]), digest) for r in rows):
            return None
        principal: ServicePrincipal = ServicePrincipals.to_record(rows[0]["principal"])
        if not principal.account_enabled:
            return None
        return AppSignIn(principal, tuple(rows[0]["app_role_ids"]))


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
