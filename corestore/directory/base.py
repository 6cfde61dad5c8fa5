"""What every object kind shares: get, list with filter and keyset paging, create, update, delete.

Reads are one prepared statement calling the kind's tenant functions (migration
directory_0002); writes are Core statements, compiled once, in one transaction on
the primary. Every statement also names the tenant explicitly, so isolation holds
in the code and, independently, in the database's row-level security.
One module over 300 lines on purpose: the one generic repository every kind inherits,
whose reads and writes share its rules, columns and paging.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import asyncpg
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    literal,
    select,
    tuple_,
    update,
)

from corestore.errors import InvalidRequest, NotFound, PreconditionFailed
from corestore.filters import FilterableColumn, FilterError, compile_filter, parse_filter
from corestore.handle import TenantHandle
from corestore.objects import DirectoryObject, Page, field_names
from corestore.pools import Connection
from corestore.read_functions import call
from corestore.rls import actor_setting, entered
from corestore.schema import ObjectRow
from corestore.search import SearchError, compile_search
from corestore.sql import Compiled, cached, condition, insert_values
from corestore.validation import FieldRule, check, parse_id

R = TypeVar("R", bound=DirectoryObject)


@dataclass(frozen=True)
class Order:
    """A list's sort: an attribute of the kind's `orderable` (Graph names), ascending unless not."""

    attribute: str = "id"
    descending: bool = False


BY_ID = Order()
MAX_PAGE = 999
ZERO = uuid.UUID(int=0)
FILTER_ARGS = 4  # the query functions run a condition with its values as their 4th USING parameter
KEYSET_ARGS = 5  # and the keyset position with its values as their 5th (migration directory_0004)
SOFT_DELETE = "SELECT corestore.soft_delete($1, $2, $3, $4)"  # migration directory_0011


class Repository(Generic[R]):
    row: ClassVar[type[ObjectRow]]
    record: ClassVar[type[Any]]
    filterable: ClassVar[Mapping[str, FilterableColumn]]
    searchable: ClassVar[Mapping[str, FilterableColumn]] = {}
    orderable: ClassVar[Mapping[str, str]]  # Graph name -> a NOT NULL column's name (keyset paging needs one)
    rules: ClassVar[Mapping[str, FieldRule]]
    required: ClassVar[frozenset[str]]
    updatable: ClassVar[frozenset[str]]
    writes_beside: ClassVar[bool] = False  # whether `_written` writes rows beside a created object
    recycled: ClassVar[bool] = False  # whether a delete moves the object to deleted items

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
        """Made from the columns' values in order (`field_names`): a third cheaper than by keyword."""
        record: R = cls.record(*map(row.__getitem__, field_names(cls.record)))
        return record

    async def get(self, object_id: str | uuid.UUID) -> R:
        """A point read on the nearest replica: one prepared statement."""
        oid = parse_id(object_id)
        handle = self.handle
        rows = await handle.fetch(call(f"{self.kind()}_by_id"), handle.tenant_id, oid)
        if not rows:
            raise NotFound(f"no {self.kind()[:-1]} {oid}")
        return self.to_record(rows[0])

    async def resolve(self, key: str) -> R:
        """An object by the key Graph accepts in a path: its id (users also take their UPN)."""
        return await self.get(key)

    async def list(
        self,
        filter: str | None = None,
        top: int = 100,
        after: uuid.UUID | None = None,
        *,
        search: str | None = None,
        order: Order = BY_ID,
        after_key: object = None,
        count: bool = False,
    ) -> Page[R]:
        """One page in `order` (then id), one statement; a filter's and a search's values, and the
        keyset position (`after_key`, `after`), travel as bound text. `count` adds the total."""
        if not 0 <= top <= MAX_PAGE:
            raise InvalidRequest(f"top must be between 0 and {MAX_PAGE}")
        sort = self._order_column(order.attribute)
        terms = []
        try:
            if filter:
                terms.append(compile_filter(parse_filter(filter), self.filterable))
            if search:
                terms.append(compile_search(search, self.searchable))
        except FilterError as exc:
            raise InvalidRequest(
                f"{'$search' if isinstance(exc, SearchError) else '$filter'}: {exc}"
            ) from None
        where, args = condition(and_(*terms), FILTER_ARGS) if terms else (None, None)
        keyset, keyset_args = (None, None)
        if after is not None:
            keyset, keyset_args = condition(
                self._keyset(sort, order.descending, after_key, after), KEYSET_ARGS
            )
        rows = await self.handle.fetch(
            call(f"{self.kind()}_query"),
            self.handle.tenant_id,
            top + 1,
            where,
            args,
            keyset,
            keyset_args,
            sort.key,
            order.descending,
            count,
        )
        total = rows[0]["total"] if count and rows else None
        items = tuple(self._from_query(r) for r in rows[:top] if r["obj"] is not None)
        if len(rows) <= top or not items:
            return Page(items, None, None, total)
        return Page(items, items[-1].id, getattr(items[-1], sort.key), total)

    async def count(self, filter: str | None = None, search: str | None = None) -> int:
        """How many objects match, one statement (the query function's total, no page)."""
        page = await self.list(filter, 0, search=search, count=True)
        return page.total or 0

    def _from_query(self, row: asyncpg.Record) -> R:
        """A record from a query function's row (its `obj`; a kind may use `extra`)."""
        return self.to_record(row["obj"])

    @classmethod
    def _order_column(cls, attribute: str) -> Any:
        name = "id" if attribute == "id" else cls.orderable.get(attribute)
        if name is None:
            raise InvalidRequest(
                f"$orderby: cannot sort by {attribute!r} (sortable: {', '.join(cls.orderable)})"
            )
        return cls.table().c[name]

    @classmethod
    def _keyset(cls, sort: Any, descending: bool, key: object, after: uuid.UUID) -> ColumnElement[bool]:
        """Rows after (`key`, `after`) in the list's order: a row comparison on (column, id)."""
        id_column = cls.table().c.id
        if sort.key == "id":
            return id_column < literal(after) if descending else id_column > literal(after)
        if key is None or not _fits(sort, key):
            raise InvalidRequest("$skiptoken does not fit this $orderby")
        mine, theirs = tuple_(sort, id_column), tuple_(literal(key, sort.type), literal(after))
        return mine < theirs if descending else mine > theirs

    async def create(self, **values: Any) -> R:
        columns, side = self._split(values)
        clean = await self._prepare(check(columns, self.rules, self.required))
        if not self.writes_beside:
            return await self._create_alone(clean)
        async with self.handle.write() as conn:
            record = await self._insert(conn, clean)
            return await self._written(conn, record, side, created=True)

    def _split(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A write's column values, and the values a kind keeps in other tables (checked here)."""
        return dict(values), {}

    async def _written(self, conn: Connection, record: R, side: dict[str, Any], created: bool) -> R:
        """Rows a kind writes along with an object, in the same transaction; the record as written."""
        return record

    async def _create_alone(self, values: dict[str, Any]) -> R:
        """A create with nothing beside its object: one statement that enters the tenant itself
        and commits on its own (`TenantHandle.write_one`), 2 round trips where a transaction takes 4."""
        full = self._full(values)
        table = self.table()

        def build() -> Any:
            row = select(*[bindparam(k, type_=table.c[k].type) for k in full]).select_from(entered())
            return insert(table).from_select(list(full), row).returning(*self.returned())

        query = self._statement(f"create:{sorted(full)}", build)
        row = await self.handle.write_one(
            query.sql, *query.args(**full, actor=actor_setting(self.handle.actor))
        )
        assert row is not None
        return self.to_record(row)

    def _full(self, values: dict[str, Any]) -> dict[str, Any]:
        """A new row's values: the caller's, the tenant, and the column defaults."""
        return insert_values(self.table(), {**values, "tenant_id": self.handle.tenant_id})

    async def _insert(self, conn: Connection, values: dict[str, Any]) -> R:
        full = self._full(values)
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
        columns, side = self._split(changes)
        clean = await self._prepare(check(columns, rules, frozenset()))
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
            return await self._written(conn, self.to_record(row), side, created=False)

    async def _prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        """Turn checked caller values into column values (a kind may hash or derive some)."""
        return values

    async def delete(self, object_id: str | uuid.UUID, if_version: int | None = None) -> None:
        """Gone at once, or, for a kind Entra recycles, moved to deleted items for 30 days
        (`corestore.directory.deleted_items`)."""
        oid = parse_id(object_id)
        table = self.table()
        query = self._statement("delete", lambda: delete(table).where(*self._match()).returning(table.c.id))
        async with self.handle.write() as conn:
            if self.recycled:
                deleted = await conn.fetchval(
                    SOFT_DELETE, self.handle.tenant_id, self.kind(), oid, if_version
                )
            else:
                deleted = await conn.fetchval(
                    query.sql, *query.args(tenant=self.handle.tenant_id, id=oid, version=if_version)
                )
            if not deleted:
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


def _fits(column: Any, key: object) -> bool:
    """Whether a skip token's sort key is a value of the column (the token is the caller's text)."""
    if not isinstance(key, str):
        return False
    if isinstance(column.type, DateTime):
        try:
            datetime.fromisoformat(key)
        except ValueError:
            return False
    return True
