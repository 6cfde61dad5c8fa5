"""The target unit's side of a move: a subscription that applies the source's changes in
commit order from the move's slot on, the rows before it copied already (`corestore.moves.copy`).

The apply worker runs as a replica would (no triggers, no foreign key checks) and as
the superuser (`run_as_owner`: no row-level security), so rows arrive as the source has them.
Its commits do not wait for the target's own replicas (`synchronous_commit = off`, as
PostgreSQL recommends for a subscription): with a replica in another region each applied
transaction waited a round trip, the apply fell behind two writers, and over the simulated WAN
the checkpoint's pause (writers waiting for the target to show a mark) lasted seconds. Safe: the
slot sends again what the target had not flushed, and the flip waits until the target's
replicas have replayed everything (`take_over` commits synchronously, after every applied change).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg

from corestore.errors import Unavailable
from corestore.moves import scripts
from corestore.moves.scripts import literal
from corestore.moves.source import move_name

SUBSCRIPTION = """CREATE SUBSCRIPTION {name} CONNECTION '{conninfo}' PUBLICATION {name}
WITH (copy_data = false, create_slot = false, streaming = off, synchronous_commit = 'off',
      disable_on_error = true, run_as_owner = true)"""
# One round trip per poll: whether the mark arrived, and whether the subscription still runs.
MARK_SEEN = """SELECT (SELECT move_mark = $2 FROM public.tenants WHERE tenant_id = $1) AS seen,
(SELECT subenabled FROM pg_subscription WHERE subname = $3) AS enabled"""
ERRORS = "SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats WHERE subname = $1"
TAKE_OVER = """BEGIN; SET LOCAL session_replication_role = replica;
UPDATE public.tenants SET epoch = {epoch} WHERE tenant_id = {tenant};
DELETE FROM corestore.tenant_fences WHERE tenant_id = {tenant}; COMMIT"""
EXISTS = "SELECT 1 FROM pg_subscription WHERE subname = $1"
POLL_S = 0.005


async def subscribe(conn: asyncpg.Connection, tenant_id: uuid.UUID, source_dsn: str) -> None:
    conninfo = source_dsn.replace("'", "''")
    await conn.execute(SUBSCRIPTION.format(name=move_name(tenant_id), conninfo=conninfo))


async def wait_for_mark(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, mark: uuid.UUID, timeout_s: float
) -> None:
    """Until the target shows the source's mark (every earlier write applied), bounded."""
    if not await shows_mark(conn, tenant_id, mark, timeout_s):
        raise Unavailable(f"the target did not catch up within {timeout_s:.0f} s")


async def shows_mark(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, mark: uuid.UUID, timeout_s: float
) -> bool:
    """Whether the target shows the source's mark within `timeout_s`; a stopped subscription
    fails now, not at the deadline."""
    name = move_name(tenant_id)
    deadline = time.monotonic() + timeout_s
    while True:
        row = await conn.fetchrow(MARK_SEEN, tenant_id, mark, name)
        assert row is not None  # two scalar subqueries: always one row
        if row["seen"]:
            return True
        if row["enabled"] is None:
            raise Unavailable(f"subscription {name} is gone")
        if not row["enabled"]:
            errors = await conn.fetchval(ERRORS, name)
            raise Unavailable(
                f"subscription {name} stopped on an error ({errors} so far); see the target's log"
            )
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)


async def analyze(conn: asyncpg.Connection, tables: tuple[str, ...]) -> None:
    """Fresh planner statistics for the copied tables before reads arrive: the bench saw a
    100k-user tenant read at a fifth of its rate on the target until autovacuum's next round,
    its plans still made for tables without its rows. Statistics reach the replicas by WAL."""
    await conn.execute(f"ANALYZE {', '.join(tables)}")


async def unsubscribe(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    """Stop and drop the subscription; its slot on the source goes with it when reachable,
    else the source's side drops it later (`source.drop_publication`)."""
    name = move_name(tenant_id)
    if not await conn.fetchval(EXISTS, name):
        return
    await conn.execute(f"ALTER SUBSCRIPTION {name} DISABLE")
    try:
        await conn.execute(f"DROP SUBSCRIPTION {name}")
    except (asyncpg.PostgresError, OSError):
        await conn.execute(f"ALTER SUBSCRIPTION {name} SET (slot_name = NONE)")
        await conn.execute(f"DROP SUBSCRIPTION {name}")


async def take_over(conn: asyncpg.Connection, tenant_id: uuid.UUID, epoch: int) -> str:
    """The epoch the flip will give, in the tenant's row here: delta tokens are held to it
    (migration directory_0012). Written on the target alone, after the verification and as a
    replica would (no triggers); the fenced source sends nothing after it. A fence an earlier
    move off this unit left is lifted with it, in one script (one round trip). The WAL
    position after both."""
    await scripts.run(conn, TAKE_OVER.format(tenant=literal(str(tenant_id)), epoch=int(epoch)))
    return str(await conn.fetchval("SELECT pg_current_wal_lsn()::text"))
