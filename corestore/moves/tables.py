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
# sides when the rows are (the same server build hashes alike).
SUMMARY = """SELECT '{table}' AS name, count(*) AS rows,
coalesce(sum(hash_record_extended(t, 0)), 0)::text AS checksum,
coalesce(sum(pg_column_size(t)), 0) AS bytes FROM public.{table} t WHERE tenant_id = $1"""


@dataclass(frozen=True)
class TableSummary:
    table: str
    rows: int
    checksum: str
    bytes: int


async def tenant_tables(conn: asyncpg.Connection) -> tuple[str, ...]:
    return tuple(r["relname"] for r in await conn.fetch(TENANT_TABLES))


async def summarize(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, tables: tuple[str, ...]
) -> dict[str, TableSummary]:
    """Per table: the tenant's row count, checksum and size (read as a superuser: no RLS), in
    one statement (it runs inside the move's fence)."""
    sql = " UNION ALL ".join(SUMMARY.format(table=table) for table in tables)
    rows = await conn.fetch(sql, tenant_id)
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
