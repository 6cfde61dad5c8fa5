"""Groups and memberships: users and groups in groups, nested, never in a cycle."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, Uuid, any_, bindparam, delete, select

from corestore.directory.base import Repository
from corestore.errors import Conflict, InvalidRequest, NotFound
from corestore.filters import ColumnKind, FilterableColumn
from corestore.objects import DirectoryObject, Group, Page, User
from corestore.schema import GroupRow, MembershipRow, UserRow
from corestore.sql import compile_statement
from corestore.validation import DISPLAY_NAME, NICKNAME, FieldRule, parse_id

DIRECT_MEMBERS = """
    SELECT member_id, member_user_id IS NOT NULL AS is_user FROM memberships
    WHERE tenant_id = $1 AND group_id = $2 AND member_id > $3 ORDER BY member_id LIMIT $4"""
TRANSITIVE_MEMBERS = """
    WITH RECURSIVE t(member_id, member_group_id, is_user) AS (
        SELECT member_id, member_group_id, member_user_id IS NOT NULL FROM memberships
        WHERE tenant_id = $1 AND group_id = $2
      UNION
        SELECT m.member_id, m.member_group_id, m.member_user_id IS NOT NULL
        FROM memberships m JOIN t ON m.group_id = t.member_group_id WHERE m.tenant_id = $1)
    SELECT DISTINCT member_id, is_user FROM t WHERE member_id > $3 ORDER BY member_id LIMIT $4"""
DIRECT_MEMBER_OF = """
    SELECT group_id AS member_id, false AS is_user FROM memberships
    WHERE tenant_id = $1 AND member_id = $2 AND group_id > $3 ORDER BY group_id LIMIT $4"""
TRANSITIVE_MEMBER_OF = """
    WITH RECURSIVE t(group_id) AS (
        SELECT group_id FROM memberships WHERE tenant_id = $1 AND member_id = $2
      UNION
        SELECT m.group_id FROM memberships m JOIN t ON m.member_group_id = t.group_id
        WHERE m.tenant_id = $1)
    SELECT DISTINCT group_id AS member_id, false AS is_user FROM t
    WHERE group_id > $3 ORDER BY group_id LIMIT $4"""
if TYPE_CHECKING:
    from corestore.session import ReadConnection

ZERO = uuid.UUID(int=0)


class Groups(Repository[Group]):
    row = GroupRow
    record = Group
    filterable = {
        "id": FilterableColumn(GroupRow.id, ColumnKind.UUID),
        "displayName": FilterableColumn(GroupRow.display_name, ColumnKind.STRING),
        "mailNickname": FilterableColumn(GroupRow.mail_nickname, ColumnKind.STRING, True),
        "kind": FilterableColumn(GroupRow.kind, ColumnKind.STRING),
    }
    rules = {
        "display_name": DISPLAY_NAME,
        "mail_nickname": FieldRule(str, max_length=64, pattern=NICKNAME),
        "kind": FieldRule(str, choices=frozenset({"security", "microsoft365"})),
        "description": FieldRule(str, max_length=1024, nullable=True),
    }
    required = frozenset({"display_name", "mail_nickname"})
    updatable = frozenset({"display_name", "mail_nickname", "description"})

    async def add_member(self, group_id: str | uuid.UUID, member_id: str | uuid.UUID) -> None:
        gid, mid = parse_id(group_id), parse_id(member_id)
        tenant = self.session.tenant_id
        async with self.session.write() as s:
            if await s.get(GroupRow, (tenant, gid)) is None:
                raise NotFound(f"no group {gid}")
            is_user = await s.get(UserRow, (tenant, mid)) is not None
            if not is_user and await s.get(GroupRow, (tenant, mid)) is None:
                raise NotFound(f"no user or group {mid}")
            if not is_user and await self._reaches(s, mid, gid):
                raise InvalidRequest(f"adding group {mid} to {gid} would make a membership cycle")
            exists = await s.get(MembershipRow, (tenant, gid, mid))
            if exists is not None:
                raise Conflict(f"{mid} is already a member of {gid}")
            s.add(
                MembershipRow(
                    tenant_id=tenant,
                    group_id=gid,
                    member_id=mid,
                    member_user_id=mid if is_user else None,
                    member_group_id=None if is_user else mid,
                )
            )

    async def _reaches(self, s: Any, from_group: uuid.UUID, to_group: uuid.UUID) -> bool:
        """Whether `to_group` is `from_group` or among its transitive members."""
        if from_group == to_group:
            return True
        rows = await s.execute(
            select(MembershipRow.member_group_id).where(
                MembershipRow.tenant_id == self.session.tenant_id,
                MembershipRow.group_id == from_group,
                MembershipRow.member_group_id.is_not(None),
            )
        )
        for (child,) in rows.all():
            if await self._reaches(s, child, to_group):
                return True
        return False

    async def remove_member(self, group_id: str | uuid.UUID, member_id: str | uuid.UUID) -> None:
        gid, mid = parse_id(group_id), parse_id(member_id)
        async with self.session.write() as s:
            result = await s.execute(
                delete(MembershipRow).where(
                    MembershipRow.tenant_id == self.session.tenant_id,
                    MembershipRow.group_id == gid,
                    MembershipRow.member_id == mid,
                )
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"{mid} is not a member of {gid}")

    async def members(
        self,
        group_id: str | uuid.UUID,
        top: int = 100,
        after: uuid.UUID | None = None,
        transitive: bool = False,
    ) -> Page[DirectoryObject]:
        gid = parse_id(group_id)
        await self.get(gid)
        return await self._objects(TRANSITIVE_MEMBERS if transitive else DIRECT_MEMBERS, gid, top, after)

    async def member_of(
        self,
        object_id: str | uuid.UUID,
        top: int = 100,
        after: uuid.UUID | None = None,
        transitive: bool = False,
    ) -> Page[DirectoryObject]:
        oid = parse_id(object_id)
        return await self._objects(TRANSITIVE_MEMBER_OF if transitive else DIRECT_MEMBER_OF, oid, top, after)

    async def _objects(
        self, sql: str, anchor: uuid.UUID, top: int, after: uuid.UUID | None
    ) -> Page[DirectoryObject]:
        from corestore.directory.users import Users

        tenant = self.session.tenant_id
        async with self.session.read() as conn:
            refs = await conn.fetch(sql, tenant, anchor, after or ZERO, top + 1)
            page = refs[:top]
            users = await self._fetch(
                conn, Users(self.session), [r["member_id"] for r in page if r["is_user"]]
            )
            groups = await self._fetch(conn, self, [r["member_id"] for r in page if not r["is_user"]])
        found = {**users, **groups}
        items = tuple(found[r["member_id"]] for r in page if r["member_id"] in found)
        return Page(items, page[-1]["member_id"] if len(refs) > top else None)

    @staticmethod
    async def _fetch(
        conn: ReadConnection, repo: Repository[Any], ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, User | Group]:
        if not ids:
            return {}
        query = compile_statement(
            select(*repo.columns()).where(
                repo.row.tenant_id == repo.session.tenant_id,
                repo.row.id == any_(bindparam("ids", type_=ARRAY(Uuid))),
            )
        )
        rows = await conn.fetch(query.sql, *query.args(ids=ids))
        return {r["id"]: repo.to_record(r) for r in rows}
