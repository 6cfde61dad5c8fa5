"""What every object kind shares: get, list with filter and keyset paging, create, update, delete.

Reads run as prepared statements on raw asyncpg (the hot path); writes use the ORM
on the primary. Every statement also names the tenant explicitly, so isolation holds
in the code and, independently, in the database's row-level security.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import asyncpg
from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from corestore.errors import InvalidRequest, NotFound, PreconditionFailed
from corestore.filters import FilterableColumn, FilterError, compile_filter, parse_filter
from corestore.objects import DirectoryObject, Page, field_names
from corestore.schema import ObjectRow
from corestore.sql import cached, compile_statement, decode_json
from corestore.validation import FieldRule, check, parse_id

if TYPE_CHECKING:
    from corestore.session import TenantSession

R = TypeVar("R", bound=DirectoryObject)
MAX_PAGE = 999
JSON_FIELDS = frozenset({"extension"})


class Repository(Generic[R]):
    row: ClassVar[type[ObjectRow]]
    record: ClassVar[type[Any]]
    filterable: ClassVar[Mapping[str, FilterableColumn]]
    rules: ClassVar[Mapping[str, FieldRule]]
    required: ClassVar[frozenset[str]]
    updatable: ClassVar[frozenset[str]]

    def __init__(self, session: TenantSession) -> None:
        self.session = session

    @classmethod
    def columns(cls) -> list[Any]:
        table = cls.row.__table__
        return [table.c[name] for name in field_names(cls.record)]

    def to_record(self, row: Mapping[str, Any] | asyncpg.Record) -> R:
        values = {n: decode_json(row[n]) if n in JSON_FIELDS else row[n] for n in field_names(self.record)}
        record: R = self.record(**values)
        return record

    @classmethod
    def _by_id(cls) -> Select[Any]:
        return select(*cls.columns()).where(
            cls.row.tenant_id == bindparam("tenant"), cls.row.id == bindparam("id")
        )

    async def get(self, object_id: str | uuid.UUID) -> R:
        """A point read on the nearest replica: one prepared statement."""
        query = cached(f"get:{self.row.__tablename__}", self._by_id)
        oid = parse_id(object_id)
        row = await self.session.fetchrow(query.sql, *query.args(tenant=self.session.tenant_id, id=oid))
        if row is None:
            raise NotFound(f"no {self.row.__tablename__[:-1]} {oid}")
        return self.to_record(row)

    async def resolve(self, key: str) -> R:
        """An object by the key Graph accepts in a path: its id (users also take their UPN)."""
        return await self.get(key)

    async def list(
        self, filter: str | None = None, top: int = 100, after: uuid.UUID | None = None
    ) -> Page[R]:
        if not 1 <= top <= MAX_PAGE:
            raise InvalidRequest(f"top must be between 1 and {MAX_PAGE}")
        query = select(*self.columns()).where(self.row.tenant_id == self.session.tenant_id)
        if filter:
            try:
                query = query.where(compile_filter(parse_filter(filter), self.filterable))
            except FilterError as exc:
                raise InvalidRequest(f"$filter: {exc}") from None
        if after is not None:
            query = query.where(self.row.id > after)
        return await self._page(query.order_by(self.row.id).limit(top + 1), top)

    async def _page(self, query: Select[Any], top: int) -> Page[R]:
        compiled = compile_statement(query)
        rows = await self.session.fetch(compiled.sql, *compiled.args())
        items = tuple(self.to_record(r) for r in rows[:top])
        return Page(items, items[-1].id if len(rows) > top else None)

    async def create(self, **values: Any) -> R:
        clean = await self._prepare(check(values, self.rules, self.required))
        async with self.session.write() as s:
            row = await self._insert(s, clean)
            record = self.to_record(_as_mapping(row))
            await self._created(s, record)
        return record

    async def _created(self, s: AsyncSession, record: R) -> None:
        """Rows a kind writes along with a new object, in the same transaction."""

    async def _insert(self, s: AsyncSession, values: dict[str, Any]) -> ObjectRow:
        row = self.row(tenant_id=self.session.tenant_id, id=uuid.uuid4(), **values)
        s.add(row)
        await s.flush()
        await s.refresh(row)
        return row

    async def update(
        self, object_id: str | uuid.UUID, changes: Mapping[str, Any], if_version: int | None = None
    ) -> R:
        rules = {k: v for k, v in self.rules.items() if k in self.updatable}
        clean = await self._prepare(check(changes, rules, frozenset()))
        async with self.session.write() as s:
            row = await self._locked(s, object_id, if_version)
            for name, value in clean.items():
                setattr(row, name, value)
            row.version += 1
            await s.flush()
            await s.refresh(row)
        return self.to_record(_as_mapping(row))

    async def _prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        """Turn checked caller values into column values (a kind may hash or derive some)."""
        return values

    async def delete(self, object_id: str | uuid.UUID, if_version: int | None = None) -> None:
        async with self.session.write() as s:
            row = await self._locked(s, object_id, if_version)
            await s.delete(row)

    async def _locked(self, s: AsyncSession, object_id: str | uuid.UUID, if_version: int | None) -> ObjectRow:
        oid = parse_id(object_id)
        row = await s.get(self.row, (self.session.tenant_id, oid), with_for_update=True)
        if row is None:
            raise NotFound(f"no {self.row.__tablename__[:-1]} {oid}")
        if if_version is not None and row.version != if_version:
            raise PreconditionFailed(f"{oid} is at version {row.version}, not {if_version}")
        return row


def _as_mapping(row: ObjectRow) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}
