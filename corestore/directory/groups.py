"""Groups and memberships: users and groups in groups, nested, never in a cycle."""

from __future__ import annotations

import uuid

import asyncpg

from corestore.directory.base import ZERO, Repository
from corestore.directory.users import Users
from corestore.errors import Conflict, InvalidRequest, NotFound
from corestore.filters import ColumnKind, FilterableColumn
from corestore.objects import DirectoryObject, Group, Page
from corestore.read_functions import call
from corestore.schema import GroupRow
from corestore.validation import DISPLAY_NAME, NICKNAME, FieldRule, parse_id

MEMBER_KINDS = """SELECT EXISTS (SELECT 1 FROM groups WHERE tenant_id = $1 AND id = $2) AS group_found,
    EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $3) AS is_user,
    EXISTS (SELECT 1 FROM groups WHERE tenant_id = $1 AND id = $3) AS is_group"""
# Whether group $3 is group $2 or among its transitive members (adding $2 to $3 would close a cycle).
REACHES = """WITH RECURSIVE t(group_id) AS (
        SELECT $2::uuid
      UNION
        SELECT m.member_group_id FROM memberships m JOIN t ON m.group_id = t.group_id
        WHERE m.tenant_id = $1 AND m.member_group_id IS NOT NULL)
    SELECT EXISTS (SELECT 1 FROM t WHERE group_id = $3)"""
ADD_MEMBER = """INSERT INTO memberships (tenant_id, group_id, member_id, member_user_id, member_group_id)
    VALUES ($1, $2, $3::uuid, CASE WHEN $4 THEN $3::uuid END, CASE WHEN $4 THEN NULL ELSE $3::uuid END)"""
REMOVE_MEMBER = "DELETE FROM memberships WHERE tenant_id = $1 AND group_id = $2 AND member_id = $3"
NO_DATA_FOUND = "P0002"


class Groups(Repository[Group]):
    row = GroupRow
    record = Group
    filterable = {
        "id": FilterableColumn(GroupRow.id, ColumnKind.UUID),
        "displayName": FilterableColumn(GroupRow.display_name, ColumnKind.STRING),
        "mailNickname": FilterableColumn(GroupRow.mail_nickname, ColumnKind.STRING, True),
        "securityEnabled": FilterableColumn(GroupRow.kind == "security", ColumnKind.BOOL),
        "mailEnabled": FilterableColumn(GroupRow.kind == "microsoft365", ColumnKind.BOOL),
    }
    searchable = {
        "displayName": FilterableColumn(GroupRow.display_name, ColumnKind.STRING),
        "description": FilterableColumn(GroupRow.description, ColumnKind.STRING),
        "mailNickname": FilterableColumn(GroupRow.mail_nickname, ColumnKind.STRING),
    }
    orderable = {
        "displayName": "display_name",
        "createdDateTime": "created_at",
        "mailNickname": "mail_nickname",
    }
    rules = {
        "display_name": DISPLAY_NAME,
        "mail_nickname": FieldRule(str, max_length=64, pattern=NICKNAME),
        "kind": FieldRule(str, choices=frozenset({"security", "microsoft365"})),
        "description": FieldRule(str, max_length=1024, nullable=True),
    }
    required = frozenset({"display_name", "mail_nickname"})
    updatable = frozenset({"display_name", "mail_nickname", "description"})
    recycled = True

    async def add_member(self, group_id: str | uuid.UUID, member_id: str | uuid.UUID) -> None:
        gid, mid = parse_id(group_id), parse_id(member_id)
        tenant = self.handle.tenant_id
        async with self.handle.write() as conn:
            kinds = await conn.fetchrow(MEMBER_KINDS, tenant, gid, mid)
            assert kinds is not None
            if not kinds["group_found"]:
                raise NotFound(f"no group {gid}")
            if not kinds["is_user"] and not kinds["is_group"]:
                raise NotFound(f"no user or group {mid}")
            if kinds["is_group"] and await conn.fetchval(REACHES, tenant, mid, gid):
                raise InvalidRequest(f"adding group {mid} to {gid} would make a membership cycle")
            try:
                await conn.execute(ADD_MEMBER, tenant, gid, mid, kinds["is_user"])
            except asyncpg.UniqueViolationError:
                raise Conflict(f"{mid} is already a member of {gid}") from None

    async def remove_member(self, group_id: str | uuid.UUID, member_id: str | uuid.UUID) -> None:
        gid, mid = parse_id(group_id), parse_id(member_id)
        async with self.handle.write() as conn:
            status = await conn.execute(REMOVE_MEMBER, self.handle.tenant_id, gid, mid)
            if status == "DELETE 0":
                raise NotFound(f"{mid} is not a member of {gid}")

    async def members(
        self,
        group_id: str | uuid.UUID,
        top: int = 100,
        after: uuid.UUID | None = None,
        transitive: bool = False,
    ) -> Page[DirectoryObject]:
        """Users and groups in a group, in id order: one statement."""
        gid = parse_id(group_id)
        try:
            rows = await self.handle.fetch(
                call("members"),
                self.handle.tenant_id,
                gid,
                after or ZERO,
                top + 1,
                transitive,
            )
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == NO_DATA_FOUND:
                raise NotFound(f"no group {gid}") from None
            raise
        items = tuple(
            Users.to_record(r["member_user"])
            if r["member_user"] is not None
            else self.to_record(r["member_group"])
            for r in rows[:top]
        )
        return Page(items, rows[top - 1]["member_id"] if len(rows) > top else None)

    async def member_of(
        self,
        object_id: str | uuid.UUID,
        top: int = 100,
        after: uuid.UUID | None = None,
        transitive: bool = False,
    ) -> Page[DirectoryObject]:
        """The groups an object is in, in id order: one statement."""
        rows = await self.handle.fetch(
            call("member_of"),
            self.handle.tenant_id,
            parse_id(object_id),
            after or ZERO,
            top + 1,
            transitive,
        )
        items = tuple(self.to_record(r) for r in rows[:top])
        return Page(items, items[-1].id if len(rows) > top else None)
