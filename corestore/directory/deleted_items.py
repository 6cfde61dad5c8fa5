"""Deleted items: Entra's recycle bin of users, Microsoft 365 groups, applications and service
principals, read, restored or deleted for good here (migration directory_0011).

A repository's `delete` of those kinds moves the object here (`base.SOFT_DELETE`); the live
tables never hold a deleted object, so every other read is unchanged. Restoring puts back
the object and the related rows whose other side still exists; a principal name or other
key taken meanwhile is `KeyTaken`, with nothing written.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from corestore.directory.applications import Applications, ServicePrincipals
from corestore.directory.base import FILTER_ARGS, MAX_PAGE, ZERO, Repository
from corestore.directory.groups import Groups
from corestore.directory.users import Users
from corestore.errors import Conflict, InvalidRequest, KeyTaken, NotFound
from corestore.filters import FilterError, compile_filter, parse_filter
from corestore.handle import TenantHandle
from corestore.objects import DeletedItem, Page
from corestore.read_functions import call
from corestore.sql import condition
from corestore.validation import parse_id

# The kinds Entra keeps in deleted items, by table: their records and `$filter` attributes.
RECYCLED: dict[str, type[Repository[Any]]] = {
    "users": Users,
    "groups": Groups,
    "applications": Applications,
    "service_principals": ServicePrincipals,
}
RESTORE = "SELECT corestore.restore_deleted($1, $2)"
# a unique index a restore may run into (a violation names only it: row security hides the key)
# -> Graph's property
KEYS = {
    "uq_users_upn": "userPrincipalName",
    "uq_groups_mail_nickname": "mailNickname",
    "uq_applications_app_id": "appId",
    "uq_service_principals_app_id": "appId",
}
HARD_DELETE = "DELETE FROM deleted_items WHERE tenant_id = $1 AND id = $2"


class DeletedItems:
    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    async def list(
        self,
        kind: str,
        filter: str | None = None,
        top: int = 100,
        after: uuid.UUID | None = None,
        *,
        count: bool = False,
    ) -> Page[DeletedItem]:
        """One page of a kind's deleted items in id order, `filter` as the kind's own lists take it."""
        repository = _repository(kind)
        if not 0 <= top <= MAX_PAGE:
            raise InvalidRequest(f"top must be between 0 and {MAX_PAGE}")
        where, args = None, None
        if filter:
            try:
                where, args = condition(
                    compile_filter(parse_filter(filter), repository.filterable), FILTER_ARGS
                )
            except FilterError as exc:
                raise InvalidRequest(f"$filter: {exc}") from None
        rows = await self.handle.fetch(
            call("deleted_items_query"),
            self.handle.tenant_id,
            kind,
            top + 1,
            where,
            args,
            after or ZERO,
            count,
        )
        total = rows[0]["total"] if count and rows else None
        items = tuple(_item(r) for r in rows[:top] if r["id"] is not None)
        next_after = items[-1].record.id if len(rows) > top and items else None
        return Page(items, next_after, None, total)

    async def count(self, kind: str, filter: str | None = None) -> int:
        page = await self.list(kind, filter, 0, count=True)
        return page.total or 0

    async def get(self, item_id: str | uuid.UUID) -> DeletedItem:
        oid = parse_id(item_id)
        rows = await self.handle.fetch(call("deleted_item_by_id"), self.handle.tenant_id, oid)
        if not rows:
            raise NotFound(f"no deleted item {oid}")
        return _item(rows[0])

    async def restore(self, item_id: str | uuid.UUID) -> DeletedItem:
        """The object back where it was, with its memberships or assignments; what was restored."""
        oid = parse_id(item_id)
        rows = await self.handle.fetch_primary(call("deleted_item_by_id"), self.handle.tenant_id, oid)
        if not rows:
            raise NotFound(f"no deleted item {oid}")
        try:
            async with self.handle.write() as conn:
                if await conn.fetchval(RESTORE, self.handle.tenant_id, oid) is None:
                    raise NotFound(f"no deleted item {oid}")
        except Conflict as exc:
            taken = next((graph for index, graph in KEYS.items() if index in str(exc)), "a unique property")
            raise KeyTaken(
                f"Another object with the same value for property {taken} already exists."
            ) from None
        return _item(rows[0])

    async def delete(self, item_id: str | uuid.UUID) -> None:
        """Permanently: the object and what hung off it are gone, as after 30 days."""
        oid = parse_id(item_id)
        async with self.handle.write() as conn:
            if await conn.execute(HARD_DELETE, self.handle.tenant_id, oid) == "DELETE 0":
                raise NotFound(f"no deleted item {oid}")


def _repository(kind: str) -> type[Repository[Any]]:
    found = RECYCLED.get(kind)
    if found is None:
        raise InvalidRequest(f"no deleted items of kind {kind!r} (kinds: {', '.join(RECYCLED)})")
    return found


def _item(row: asyncpg.Record) -> DeletedItem:
    kind = row["kind"]
    return DeletedItem(kind, RECYCLED[kind].to_record(row[kind]), row["deleted_at"])
