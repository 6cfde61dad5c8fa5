"""Applications, their service principals, client secrets and certificates.

A client secret is generated here with 256 bits of entropy and stored only as a
keyed hash (HMAC-SHA256, a per-cluster key, the tenant id mixed in): a fast hash
is right for a random secret; slow hashing is for passwords, which people choose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import DateTime, LargeBinary, String, Uuid, bindparam, insert, select

from corestore.directory.base import Repository
from corestore.directory.grants import check_redirect_uris, replace_redirect_uris
from corestore.directory.key_credentials import check_keys, listed, replace_keys
from corestore.errors import Conflict, InvalidRequest, NotFound
from corestore.filters import ColumnKind, FilterableColumn
from corestore.handle import TenantHandle
from corestore.objects import Application, ClientSecret, ServicePrincipal
from corestore.pools import Connection
from corestore.read_functions import call
from corestore.schema import ApplicationRow, ClientSecretRow, ServicePrincipalRow
from corestore.sql import cached
from corestore.validation import DISPLAY_NAME, FieldRule, check, parse_id

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
    searchable = {"displayName": FilterableColumn(ApplicationRow.display_name, ColumnKind.STRING)}
    orderable = {"displayName": "display_name", "createdDateTime": "created_at"}
    rules = {"display_name": DISPLAY_NAME}
    required = frozenset({"display_name"})
    updatable = frozenset({"display_name"})
    recycled = True

    writes_beside = True  # its redirect URIs and service principal

    def __init__(self, handle: TenantHandle, secret_key: bytes) -> None:
        super().__init__(handle)
        self._secret_key = secret_key

    async def get(self, object_id: str | uuid.UUID) -> Application:
        """A point read with the redirect URIs: one statement."""
        oid = parse_id(object_id)
        rows = await self.handle.fetch(call("application_by_id"), self.handle.tenant_id, oid)
        if not rows:
            raise NotFound(f"no application {oid}")
        return self._from_query(rows[0])

    def _from_query(self, row: asyncpg.Record) -> Application:
        extra = dict(row["extra"] or {})
        keys = listed(extra.pop("keyCredentials", None))
        uris = {platform: tuple(found) for platform, found in extra.items()}
        return replace(self.to_record(row["obj"]), redirect_uris=uris, key_credentials=keys)

    def _split(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """`redirect_uris` (platform -> URIs, each platform given replaces its URIs), `key_credentials`
        (`KeyInput`s, replacing every key) and `principal` (create its service principal too, as the
        portal does; Graph's POST does not) go elsewhere."""
        columns = dict(values)
        side: dict[str, Any] = {"principal": columns.pop("principal", True)}
        keys = columns.pop("key_credentials", None)
        side["key_credentials"] = None if keys is None else check_keys(keys)
        uris = columns.pop("redirect_uris", None) or {}
        if not isinstance(uris, Mapping):
            raise InvalidRequest("redirect_uris must map a platform to its URIs")
        side["redirect_uris"] = {
            platform: check_redirect_uris(platform, list(u)) for platform, u in uris.items()
        }
        return columns, side

    async def _written(
        self, conn: Connection, record: Application, side: dict[str, Any], created: bool
    ) -> Application:
        """Its redirect URIs, keys, and its service principal if asked, in the same transaction."""
        if created and side["principal"]:
            await ServicePrincipals(self.handle)._insert(
                conn, {"app_id": record.app_id, "display_name": record.display_name}
            )
        for platform, uris in side["redirect_uris"].items():
            await replace_redirect_uris(conn, self.handle.tenant_id, record.id, platform, uris)
        if side["key_credentials"] is not None:
            await replace_keys(conn, self.handle.tenant_id, record.id, side["key_credentials"])
        elif created:
            return replace(record, redirect_uris={p: u for p, u in side["redirect_uris"].items() if u})
        return await self._reread(conn, record.id)

    async def _reread(self, conn: Connection, oid: uuid.UUID) -> Application:
        row = await conn.fetchrow(call("application_by_id"), self.handle.tenant_id, oid)
        assert row is not None
        return self._from_query(row)

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
            call("client_credentials"),
            self.handle.tenant_id,
            aid,
            datetime.now(UTC),
        )
        digest = self._digest(secret_text)
        if not any(hmac.compare_digest(bytes(r["secret_hash"]), digest) for r in rows):
            return None
        return _enabled(rows[0])

    async def certificates(
        self, app_id: str | uuid.UUID
    ) -> tuple[AppSignIn | None, tuple[bytes, ...]] | None:
        """For a client assertion: `app_id`'s certificates (DER) and, if its service principal is
        enabled, its sign-in; None if the tenant has no such application. One statement, on the
        primary: a key removed a moment ago must not sign in on a replica that has not seen it go
        (and the assertion's `jti` is written there next anyway)."""
        try:
            aid = parse_id(app_id)
        except NotFound:
            return None
        rows = await self.handle.fetch_primary(call("client_certificates"), self.handle.tenant_id, aid)
        if not rows:
            return None
        return _enabled(rows[0]), tuple(bytes(r["certificate"]) for r in rows if r["certificate"] is not None)


def _enabled(row: asyncpg.Record) -> AppSignIn | None:
    """The sign-in of a credentials read's principal, None if it is disabled."""
    principal: ServicePrincipal = ServicePrincipals.to_record(row["principal"])
    if not principal.account_enabled:
        return None
    return AppSignIn(principal, tuple(row["app_role_ids"]))


class ServicePrincipals(Repository[ServicePrincipal]):
    row = ServicePrincipalRow
    record = ServicePrincipal
    filterable = {
        "id": FilterableColumn(ServicePrincipalRow.id, ColumnKind.UUID),
        "appId": FilterableColumn(ServicePrincipalRow.app_id, ColumnKind.UUID),
        "displayName": FilterableColumn(ServicePrincipalRow.display_name, ColumnKind.STRING),
        "accountEnabled": FilterableColumn(ServicePrincipalRow.account_enabled, ColumnKind.BOOL),
    }
    searchable = {"displayName": FilterableColumn(ServicePrincipalRow.display_name, ColumnKind.STRING)}
    orderable = {"displayName": "display_name"}
    rules = {"display_name": DISPLAY_NAME, "account_enabled": FieldRule(bool), "app_id": FieldRule(uuid.UUID)}
    required = frozenset({"app_id"})
    updatable = frozenset({"display_name", "account_enabled"})
    recycled = True

    async def create(self, **values: Any) -> ServicePrincipal:
        """The principal of an application of this tenant, from its `app_id` as in Graph; its
        display name is the application's unless given."""
        clean = check(values, self.rules, self.required)
        async with self.handle.write() as conn:
            name = await conn.fetchval(
                "SELECT display_name FROM applications WHERE tenant_id = $1 AND app_id = $2 FOR SHARE",
                self.handle.tenant_id,
                clean["app_id"],
            )
            if name is None:
                raise InvalidRequest(f"no application with appId {clean['app_id']} in this tenant")
            try:
                return await self._insert(conn, {"display_name": name, **clean})
            except asyncpg.UniqueViolationError:
                raise Conflict(f"application {clean['app_id']} already has a service principal") from None

    async def by_app_id(self, app_id: uuid.UUID) -> ServicePrincipal | None:
        page = await self.list(filter=f"appId eq {app_id}", top=1)
        return page.items[0] if page.items else None
