"""A tenant's tables, as the database itself lists them: every table of the directory
schema with a `tenant_id` column moves, so a table a later migration adds moves too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

TENANT_TABLES = """SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY c.relname"""
# Order-independent: each row hashed (its columns' own hash functions), summed; equal on both
# sides when the rows are (the same server build hashes alike). `{newer}` picks the rows hashed.
SUMMARY = """SELECT '{table}' AS name, count(*) AS rows,
coalesce(sum(hash_record_extended(t, 0)) FILTER (WHERE {newer}), 0)::text AS checksum,
{size} AS bytes FROM public.{table} t WHERE tenant_id = $1"""
# A row version written by transaction `$2` (an id modulo 2^32) or later: `age` counts back from
# the next id (one value per statement), as PostgreSQL compares ids, and is largest for frozen
# ids; cheaper per row than converting each xmin.
NEWER = "age(t.xmin) <= (SELECT age($2::text::xid))"
XID_SPACE = 2**32


@dataclass(frozen=True)
class TableSummary:
    table: str
    rows: int
    checksum: str
    bytes: int


async def tenant_tables(conn: asyncpg.Connection) -> tuple[str, ...]:
    return tuple(r["relname"] for r in await conn.fetch(TENANT_TABLES))


async def summarize(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, tables: tuple[str, ...], newer_than: int | None = None
) -> dict[str, TableSummary]:
    """Per table: the tenant's row count, checksum and size (read as a superuser: no RLS), in
    one statement. With `newer_than` (a transaction id), every row is counted but only the rows
    written by it or later are hashed, and no size is summed: the fence's cheap part."""
    if newer_than is None:
        sql = " UNION ALL ".join(
            SUMMARY.format(table=table, newer="true", size="coalesce(sum(pg_column_size(t)), 0)")
            for table in tables
        )
        rows = await conn.fetch(sql, tenant_id)
    else:
        sql = " UNION ALL ".join(SUMMARY.format(table=table, newer=NEWER, size="0") for table in tables)
        rows = await conn.fetch(sql, tenant_id, str(newer_than % XID_SPACE))
    return {r["name"]: TableSummary(r["name"], r["rows"], r["checksum"], r["bytes"]) for r in rows}


async def delete_rows(conn: asyncpg.Connection, tenant_id: uuid.UUID, tables: tuple[str, ...]) -> int:
    """Every row of the tenant, in one transaction; as a replica would apply it (no triggers,
    no cascades: every table is named), so no change-log tombstones are written."""
    deleted = 0
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for table in tables:
            status = await conn.execute(f"DELETE FROM public.{table} WHERE tenant_id = $1", tenant_id)  # noqa: S608 - from pg_class
            deleted += int(status.split()[-1])
    return deleted
