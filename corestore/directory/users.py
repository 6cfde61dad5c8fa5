"""Users: unique principal name per tenant, argon2id password, free extension attributes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from corestore.directory.base import Repository
from corestore.directory.sessions import revoke_sign_in_sessions
from corestore.errors import InvalidRequest, NotFound
from corestore.filters import ColumnKind, FilterableColumn
from corestore.objects import User
from corestore.passwords import hash_password
from corestore.pools import Connection
from corestore.read_functions import call
from corestore.schema import UserRow
from corestore.validation import DISPLAY_NAME, NICKNAME, UPN, FieldRule, check, parse_id

MAX_EXTENSION_BYTES = 16 * 1024


class Users(Repository[User]):
    row = UserRow
    record = User
    filterable = {
        "id": FilterableColumn(UserRow.id, ColumnKind.UUID),
        "userPrincipalName": FilterableColumn(UserRow.user_principal_name, ColumnKind.STRING, True),
        "mail": FilterableColumn(UserRow.mail, ColumnKind.STRING, True),
        "displayName": FilterableColumn(UserRow.display_name, ColumnKind.STRING),
        "accountEnabled": FilterableColumn(UserRow.account_enabled, ColumnKind.BOOL),
        "mailNickname": FilterableColumn(UserRow.mail_nickname, ColumnKind.STRING, True),
    }
    searchable = {
        "displayName": FilterableColumn(UserRow.display_name, ColumnKind.STRING),
        "userPrincipalName": FilterableColumn(UserRow.user_principal_name, ColumnKind.STRING),
        "mail": FilterableColumn(UserRow.mail, ColumnKind.STRING),
        "mailNickname": FilterableColumn(UserRow.mail_nickname, ColumnKind.STRING),
    }
    orderable = {
        "displayName": "display_name",
        "userPrincipalName": "user_principal_name",
        "createdDateTime": "created_at",
    }
    rules = {
        "user_principal_name": FieldRule(str, max_length=256, pattern=UPN),
        "display_name": DISPLAY_NAME,
        "mail": FieldRule(str, max_length=256, pattern=UPN, nullable=True),
        "mail_nickname": FieldRule(str, max_length=64, pattern=NICKNAME, nullable=True),
        "account_enabled": FieldRule(bool),
        "extension": FieldRule(dict),
        "password": FieldRule(str, max_length=256, nullable=True),
    }
    required = frozenset({"user_principal_name", "display_name"})
    updatable = frozenset(rules)
    recycled = True

    async def _prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        if "password" in values:
            password = values.pop("password")
            values["password_hash"] = None if password is None else await hash_password(password)
        if "extension" in values:
            _check_extension(values["extension"])
        return values

    def _split(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new password or a disabled account ends the user's sign-in sessions, as in Entra."""
        ends = "password" in values or values.get("account_enabled") is False
        return dict(values), {"end_sessions": True} if ends else {}

    async def _written(self, conn: Connection, record: User, side: dict[str, Any], created: bool) -> User:
        if created or not side:
            return record
        since = await revoke_sign_in_sessions(conn, self.handle.tenant_id, record.id)
        return replace(record, sign_in_sessions_valid_from=since)

    async def revoke_sign_in_sessions(self, key: str) -> datetime:
        """Graph's revokeSignInSessions, the user by id or principal name (looked up on the primary)."""
        if "@" in key:
            found = await self.credentials(key, on_primary=True)
            if found is None:
                raise NotFound(f"no user {key!r}")
            user_id = found[0].id
        else:
            user_id = parse_id(key)
        async with self.handle.write() as conn:
            return await revoke_sign_in_sessions(conn, self.handle.tenant_id, user_id)

    async def create_administrator(self, **values: Any) -> User:
        """A user who is an administrator from its first commit: no replica ever has it without."""
        clean = await self._prepare(check(values, self.rules, self.required))
        return await self._create_alone({**clean, "admin": True})

    async def credentials(
        self, user_principal_name: str, *, on_primary: bool = False
    ) -> tuple[User, str | None] | None:
        """The user and password hash for a sign-in, found by principal name; `on_primary` for a
        second look past replication lag."""
        fetch = self.handle.fetch_primary if on_primary else self.handle.fetch
        rows = await fetch(call("user_by_upn"), self.handle.tenant_id, user_principal_name)
        row = rows[0] if rows else None
        if row is None:
            return None
        return self.to_record(row), row["password_hash"]

    async def resolve(self, key: str) -> User:
        """A user by id or by principal name, as Graph's /users/{id | userPrincipalName}."""
        if "@" in key:
            found = await self.credentials(key)
            if found is None:
                raise NotFound(f"no user {key!r}")
            return found[0]
        return await self.get(key)


def _check_extension(extension: dict[str, Any]) -> None:
    if not all(isinstance(k, str) and k for k in extension):
        raise InvalidRequest("extension attribute names must be non-empty strings")
    try:
        size = len(json.dumps(extension))
    except (TypeError, ValueError):
        raise InvalidRequest("extension attributes must be JSON values") from None
    if size > MAX_EXTENSION_BYTES:
        raise InvalidRequest(f"extension attributes exceed {MAX_EXTENSION_BYTES} bytes")
