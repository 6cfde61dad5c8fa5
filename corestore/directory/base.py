"""What every object kind shares: get, list with filter and keyset paging, create, update, delete.

Reads are one prepared statement calling the kind's tenant functions (migration
directory_0002); writes are Core statements, compiled once, in one transaction on
the primary. Every statement also names the tenant explicitly, so isolation holds
in the code and, independently, in the database's row-level security.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import asyncpg
from sqlalchemy import Table, bindparam, delete, insert, select, update

from corestore.errors import InvalidRequest, NotFound, PreconditionFailed
from corestore.filters import FilterableColumn, FilterError, compile_filter, parse_filter
from corestore.handle import TenantHandle
from corestore.objects import DirectoryObject, Page, field_names
from corestore.pools import Connection
from corestore.schema import ObjectRow
from corestore.sql import Compiled, cached, call, condition, insert_values
from corestore.validation import FieldRule, check, parse_id

R = TypeVar("R", bound=DirectoryObject)
MAX_PAGE = 999
ZERO = uuid.UUID(int=0)
FILTER_ARGS = 4  # the page functions run a condition with its values as their 4th USING parameter


class Repository(Generic[R]):
    row: ClassVar[type[ObjectRow]]
    record: ClassVar[type[Any]]
    filterable: ClassVar[Mapping[str, FilterableColumn]]
    rules: ClassVar[Mapping[str, FieldRule]]
    required: ClassVar[frozenset[str]]
    updatable: ClassVar[frozenset[str]]

    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    @classmethod
    def table(cls) -> Table:
        table: Table = cls.row.__table__  # type: ignore[assignment]
        return table

    @classmethod
    def kind(cls) -> str:
        name: str = cls.row.__tablename__
        return name

    @classmethod
    def returned(cls) -> list[Any]:
        """The record's columns, what a write returns."""
        return [cls.table().c[n] for n in field_names(cls.record)]

    @classmethod
    def to_record(cls, row: Mapping[str, Any] | asyncpg.Record) -> R:
        values = {n: row[n] for n in field_names(cls.record)}
        record: R = cls.record(**values)
        return record

    async def get(self, object_id: str | uuid.UUID) -> R:
        """A point read on the nearest replica: one prepared statement."""
        oid = parse_id(object_id)
        row = await self._one(call(f"{self.kind()}_by_id", 2), oid)
        if row is None:
            raise NotFound(f"no {self.kind()[:-1]} {oid}")
        return self.to_record(row)

    async def _one(self, sql: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.handle.fetch(sql, self.handle.tenant_id, *args)
        return rows[0] if rows else None

    async def resolve(self, key: str) -> R:
        """An object by the key Graph accepts in a path: its id (users also take their UPN)."""
        return await self.get(key)

    async def list(
        self, filter: str | None = None, top: int = 100, after: uuid.UUID | None = None
    ) -> Page[R]:
        """One page in id order, one statement; a filter's values travel as bound text."""
        if not 1 <= top <= MAX_PAGE:
            raise InvalidRequest(f"top must be between 1 and {MAX_PAGE}")
        where: str | None = None
        args: list[str] | None = None
        if filter:
            try:
                expression = compile_filter(parse_filter(filter), self.filterable)
            except FilterError as exc:
                raise InvalidRequest(f"$filter: {exc}") from None
            where, args = condition(expression, FILTER_ARGS)
        rows = await self.handle.fetch(
            call(f"{self.kind()}_page", 5),
            self.handle.tenant_id,
            after or ZERO,
            top + 1,
            where,
            args,
        )
        items = tuple(self.to_record(r) for r in rows[:top])
        return Page(items, items[-1].id if len(rows) > top else None)

    async def create(self, **values: Any) -> R:
        clean = await self._prepare(check(values, self.rules, self.required))
        async with self.handle.write() as conn:
            record = await self._insert(conn, clean)
            await self._created(conn, record)
        return record

    async def _created(self, conn: Connection, record: R) -> None:
        """Rows a kind writes along with a new object, in the same transaction."""

    async def _insert(self, conn: Connection, values: dict[str, Any]) -> R:
        full = insert_values(self.table(), {**values, "tenant_id": self.handle.tenant_id})
        query = self._statement(
            f"insert:{sorted(full)}",
            lambda: insert(self.table()).values({k: bindparam(k) for k in full}).returning(*self.returned()),
        )
        row = await conn.fetchrow(query.sql, *query.args(**full))
        assert row is not None
        return self.to_record(row)

    async def update(
        self, object_id: str | uuid.UUID, changes: Mapping[str, Any], if_version: int | None = None
    ) -> R:
        rules = {k: v for k, v in self.rules.items() if k in self.updatable}
        clean = await self._prepare(check(changes, rules, frozenset()))
        oid = parse_id(object_id)
        table = self.table()
        query = self._statement(
            f"update:{sorted(clean)}",
            lambda: (
                update(table)
                .where(*self._match())
                .values({**{k: bindparam(k) for k in clean}, "version": table.c.version + 1})
                .returning(*self.returned())
            ),
        )
        async with self.handle.write() as conn:
            row = await conn.fetchrow(
                query.sql, *query.args(**clean, tenant=self.handle.tenant_id, id=oid, version=if_version)
            )
            if row is None:
                await self._explain_miss(conn, oid, if_version)
        assert row is not None
        return self.to_record(row)

    async def _prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        """Turn checked caller values into column values (a kind may hash or derive some)."""
        return values

    async def delete(self, object_id: str | uuid.UUID, if_version: int | None = None) -> None:
        oid = parse_id(object_id)
        table = self.table()
        query = self._statement("delete", lambda: delete(table).where(*self._match()).returning(table.c.id))
        async with self.handle.write() as conn:
            deleted = await conn.fetchval(
                query.sql, *query.args(tenant=self.handle.tenant_id, id=oid, version=if_version)
            )
            if deleted is None:
                await self._explain_miss(conn, oid, if_version)

    def _match(self) -> tuple[Any, ...]:
        """This tenant's object by id, at the caller's version if one is given (an ETag)."""
        c = self.table().c
        version = bindparam("version", type_=c.version.type)
        return (
            c.tenant_id == bindparam("tenant"),
            c.id == bindparam("id"),
            version.is_(None) | (c.version == version),
        )

    async def _explain_miss(self, conn: Connection, oid: uuid.UUID, if_version: int | None) -> None:
        """Why a write by id matched nothing: no such object, or another version of it."""
        c = self.table().c
        query = self._statement(
            "version",
            lambda: select(c.version).where(c.tenant_id == bindparam("tenant"), c.id == bindparam("id")),
        )
        version = await conn.fetchval(query.sql, *query.args(tenant=self.handle.tenant_id, id=oid))
        if version is None:
            raise NotFound(f"no {self.kind()[:-1]} {oid}")
        raise PreconditionFailed(f"{oid} is at version {version}, not {if_version}")

    def _statement(self, name: str, build: Any) -> Compiled:
        return cached(f"{self.kind()}:{name}", build)
