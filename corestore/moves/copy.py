"""A move's copy, paced: the tenant's rows at one snapshot, streamed table by table from the
source's primary to the target's at a bounded rate, as Citus copies a shard.

A replication slot created with an exported snapshot marks the point: the copy reads under
that snapshot, and the subscription made afterwards starts at the slot (`copy_data = false`),
so every change after the snapshot arrives once and none before it twice.

Why not the subscription's own copy: PostgreSQL copies as fast as both primaries go, and on a
shared machine the neighbours paid for it. `python -m bench move` measured a neighbour's read
p99 during the copy at 1.57x / 2.19x / 3.02x its p99 before (1k / 10k / 100k users), with one
table copied at a time. Here the rate is the operator's to bound (`corestore tenant move
--copy-rate`, `move_tenant(..., copy_mib_s=...)`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial

import asyncpg
import psycopg

from corestore.moves.source import move_name

# Column order as the source lists it, so both sides agree whatever order a table was altered in.
COLUMNS = """SELECT attname FROM pg_attribute WHERE attrelid = ('public.' || $1)::regclass
AND attnum > 0 AND NOT attisdropped ORDER BY attnum"""
QUEUED_CHUNKS = 4  # between the source's COPY and the target's: a few network buffers
PROGRESS_EVERY_S = 1.0
MIB = 2**20


class Pace:
    """At most `mib_s` on average since the copy began (None: as fast as it goes): small steps,
    so that the neighbours' reads meet a thin stream rather than bursts."""

    def __init__(self, mib_s: float | None) -> None:
        self.bytes_per_s = None if mib_s is None else mib_s * MIB
        self.started = time.monotonic()
        self.sent = 0

    async def take(self, size: int) -> None:
        self.sent += size
        if self.bytes_per_s is not None:
            ahead = self.sent / self.bytes_per_s - (time.monotonic() - self.started)
            if ahead > 0:
                await asyncio.sleep(ahead)


async def export_slot(source_dsn: str, tenant_id: uuid.UUID, into: asyncpg.Connection) -> None:
    """Create the move's slot on the source and open `into`'s transaction at its snapshot (left
    open for `copy_tables`). psycopg, because a walsender takes only the simple query protocol
    and asyncpg sends a query that returns rows by the extended one."""
    async with await psycopg.AsyncConnection.connect(
        source_dsn, replication="database", autocommit=True
    ) as w:
        cursor = await w.execute(
            f"CREATE_REPLICATION_SLOT {move_name(tenant_id)} LOGICAL pgoutput (SNAPSHOT 'export')"
        )
        found = await cursor.fetchone()
        assert found is not None  # the command answers one row: slot, point, snapshot, plugin
        await into.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        await into.execute(f"SET TRANSACTION SNAPSHOT '{found[2]}'")  # the server's own name for it


async def copy_tables(
    s: asyncpg.Connection,
    d: asyncpg.Connection,
    tenant_id: uuid.UUID,
    tables: tuple[str, ...],
    pace: Pace,
    progress: Callable[[str], None],
) -> None:
    """Every table's rows of the tenant, from `s` (in the snapshot's transaction, which this
    ends) to `d` in one transaction, applied as a replica would (no triggers)."""
    rows, said = 0, 0.0

    def report(done: int) -> None:
        nonlocal said
        if time.monotonic() - said >= PROGRESS_EVERY_S or done == len(tables):
            rate = pace.sent / MIB / max(time.monotonic() - pace.started, 1e-3)
            progress(
                f"copy: {done}/{len(tables)} tables copied, {rows} rows, "
                f"{pace.sent / MIB:.1f} MiB at {rate:.1f} MiB/s"
            )
            said = time.monotonic()

    try:
        async with d.transaction():
            await d.execute("SET LOCAL session_replication_role = replica")
            for done, table in enumerate(tables):
                report(done)
                rows += await _table(s, d, table, tenant_id, pace, partial(report, done))
    finally:
        await s.execute("ROLLBACK")  # the snapshot's read-only transaction
    report(len(tables))


async def _table(
    s: asyncpg.Connection,
    d: asyncpg.Connection,
    table: str,
    tenant_id: uuid.UUID,
    pace: Pace,
    tick: Callable[[], None],
) -> int:
    """One table through a small queue: the source's COPY waits while the queue is full."""
    columns = [r["attname"] for r in await s.fetch(COLUMNS, table)]
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    select = f"SELECT {quoted} FROM public.{table} WHERE tenant_id = $1"  # noqa: S608 - from pg_class
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUED_CHUNKS)

    async def sink(chunk: bytes) -> None:
        await pace.take(len(chunk))
        await queue.put(chunk)
        tick()

    async def chunks() -> AsyncIterator[bytes]:
        while (chunk := await queue.get()) is not None:
            yield chunk

    async def read() -> None:
        await s.copy_from_query(select, tenant_id, output=sink)
        await queue.put(None)

    async with asyncio.TaskGroup() as tasks:  # either side failing stops the other
        tasks.create_task(read())
        written = tasks.create_task(
            d.copy_to_table(table, schema_name="public", columns=columns, source=chunks())
        )
    return int(written.result().split()[-1])  # "COPY n"
