"""A move's verification in two parts, so that the write fence does not grow with the tenant.

checkpoint  before the fence, the tenant's writes wait a moment (the fence's advisory lock,
            taken and released: nothing is refused) while the source writes a mark and takes a
            snapshot, and the target, once it shows the mark, takes its own: two snapshots of
            one state of the tenant. Every row of both is counted and checksummed with the
            writers at work again. The pause is bounded (`PAUSE_S`): a target further behind
            lets the writers go, catches up, and the checkpoint is tried again.
fenced      inside the fence, per table, every row is counted but only the row versions
            written after the checkpoint (a transaction id at or past its snapshot's xmax) are
            hashed, on both sides.

Each tenant write holds the advisory lock shared from its start, so none is in flight at
the checkpoint: every row version is on the same side of it on both units. Rows equal at the
checkpoint, newer rows equal in the fence and equal counts mean equal tables; the one change
this misses is a delete that removed one old row on the source and another on the target.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, replace

import asyncpg

from corestore.errors import Unavailable
from corestore.moves import source as src
from corestore.moves import target as dst
from corestore.moves.tables import TableSummary, summarize

# The pause is bounded: if the target is further behind than the copy's catch-up left it (a
# busy machine), the writers go on, the target catches up, and the checkpoint is tried again.
PAUSE_S = 0.5
CATCH_UP_S = 30.0
ATTEMPTS = 5
NEXT_XID = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"


@dataclass(frozen=True)
class Checkpoint:
    source_xid: int  # the first transaction id past the source's snapshot
    target_xid: int
    summaries: dict[str, TableSummary]
    paused_ms: float  # how long the tenant's writes waited, over every attempt
    attempts: int


async def checkpoint(
    lock: asyncpg.Connection,
    s: asyncpg.Connection,
    d: asyncpg.Connection,
    tenant_id: uuid.UUID,
    tables: tuple[str, ...],
) -> Checkpoint:
    """Both sides at one state of the tenant, verified in full outside the fence; `lock` is a
    third connection to the source (it holds the pause)."""
    paused_ms = 0.0
    for attempt in range(1, ATTEMPTS + 1):
        paused = time.monotonic()
        async with src.paused(lock, tenant_id):
            mark = await src.mark(s, tenant_id)
            source_xid = await _snapshot(s)
            caught_up = await dst.shows_mark(d, tenant_id, mark, PAUSE_S)
            target_xid = await _snapshot(d) if caught_up else None
        paused_ms += (time.monotonic() - paused) * 1000
        if target_xid is not None:
            summaries = await _compared_in_full(s, d, tenant_id, tables)
            return Checkpoint(source_xid, target_xid, summaries, paused_ms, attempt)
        await s.execute("ROLLBACK")
        await dst.wait_for_mark(d, tenant_id, mark, CATCH_UP_S)
    raise Unavailable(f"the target fell behind at each of {ATTEMPTS} checkpoints; try the move later")


async def _compared_in_full(
    s: asyncpg.Connection, d: asyncpg.Connection, tenant_id: uuid.UUID, tables: tuple[str, ...]
) -> dict[str, TableSummary]:
    """Every row of both open snapshots, counted and checksummed (which ends them)."""
    try:
        ours, theirs = await asyncio.gather(summarize(s, tenant_id, tables), summarize(d, tenant_id, tables))
    finally:
        await asyncio.gather(s.execute("ROLLBACK"), d.execute("ROLLBACK"))
    _compare(ours, theirs, tables, "at the checkpoint")
    return ours


async def fenced(
    s: asyncpg.Connection,
    d: asyncpg.Connection,
    tenant_id: uuid.UUID,
    tables: tuple[str, ...],
    since: Checkpoint,
) -> dict[str, TableSummary]:
    """Inside the fence, once the target has every write: counts, and the rows written after the
    checkpoint; the tables' summaries (rows now, sizes as at the checkpoint)."""
    ours, theirs = await asyncio.gather(
        summarize(s, tenant_id, tables, since.source_xid), summarize(d, tenant_id, tables, since.target_xid)
    )
    _compare(ours, theirs, tables, "in the fence")
    return {t: replace(since.summaries[t], rows=ours[t].rows) for t in tables}


async def _snapshot(conn: asyncpg.Connection) -> int:
    """Open a snapshot on `conn` (left open for the summaries): the next transaction id at it."""
    await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    return int(await conn.fetchval(NEXT_XID))


def _compare(
    ours: dict[str, TableSummary], theirs: dict[str, TableSummary], tables: tuple[str, ...], when: str
) -> None:
    """Any difference stops the move before its flip."""
    for table in tables:
        a, b = ours[table], theirs[table]
        if (a.rows, a.checksum) != (b.rows, b.checksum):
            raise Unavailable(
                f"verification failed {when} on {table}: {a.rows} rows on the source, {b.rows} on the target"
            )
