"""The source unit's side of a move: the publication, the write fence and the mark.

The fence takes the tenant's advisory lock exclusively, so it waits for every write
transaction of the tenant in flight (each holds the lock shared from its BEGIN, see
migration directory_0006) and commits the fence row; every later write is refused
in the database, whatever placement its process still believes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg

from corestore.errors import Unavailable
from corestore.moves import scripts
from corestore.moves.scripts import literal
from scale_units.model.types import ScaleUnitId

FENCE_LOCK_TIMEOUT = "5s"  # writes in flight are bounded by the store's write deadline
LIFT = "DELETE FROM corestore.tenant_fences WHERE tenant_id = $1"
# Scripts (`corestore.moves.scripts`): values as literals, one round trip each.
FENCE_ROW = """INSERT INTO corestore.tenant_fences (tenant_id, state, moved_to, epoch)
VALUES ({tenant}, {state}, {target}, {epoch}) ON CONFLICT (tenant_id) DO UPDATE
SET state = excluded.state, moved_to = excluded.moved_to, epoch = excluded.epoch, fenced_at = now()"""
# No audit record of a mark: it is the mover's, not a change of the tenant.
MARK = """SET LOCAL session_replication_role = replica;
UPDATE public.tenants SET move_mark = {mark} WHERE tenant_id = {tenant}"""
# The tenant's lock taken exclusively (each write holds it shared, migration directory_0006), in a
# transaction left open: the pause, and the start of the fence.
PAUSE = """BEGIN; SET LOCAL lock_timeout = {timeout};
SELECT pg_advisory_xact_lock(hashtextextended({tenant}, 0))"""
FENCE = PAUSE + "; {row}; {mark}; COMMIT"
SLOT_WAIT_S = 10.0
SLOT_ACTIVE = "SELECT active FROM pg_replication_slots WHERE slot_name = $1"
DROP_SLOT = """SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
WHERE slot_name = $1 AND NOT active"""


def move_name(tenant_id: uuid.UUID) -> str:
    """The publication's, subscription's and slot's name (one move per tenant at a time)."""
    return f"move_{tenant_id.hex}"


async def require_logical(conn: asyncpg.Connection, unit: ScaleUnitId) -> None:
    level = await conn.fetchval("SHOW wal_level")
    if level != "logical":
        raise Unavailable(
            f"{unit} runs with wal_level={level}; a move streams changes by logical replication "
            "(clusters made by `cluster up` now use logical: recreate this one)"
        )


async def publish(conn: asyncpg.Connection, tenant_id: uuid.UUID, tables: tuple[str, ...]) -> None:
    """A publication of the tenant's rows of every table (a row filter on tenant_id)."""
    name = move_name(tenant_id)
    await drop_publication(conn, tenant_id)
    where = f"WHERE (tenant_id = '{tenant_id}'::uuid)"  # a UUID's text: hex digits and dashes
    spec = ", ".join(f"TABLE public.{t} {where}" for t in tables)
    await conn.execute(f"CREATE PUBLICATION {name} FOR {spec} WITH (publish = 'insert, update, delete')")


async def drop_publication(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    """The publication and the slot, if a subscription dropped without it left it (its
    sender ends moments after the subscription stops; a bounded wait)."""
    name = move_name(tenant_id)
    await conn.execute(f"DROP PUBLICATION IF EXISTS {name}")
    deadline = time.monotonic() + SLOT_WAIT_S
    while await conn.fetchval(SLOT_ACTIVE, name):
        if time.monotonic() > deadline:
            raise Unavailable(f"replication slot {name} is still in use; run the move again")
        await asyncio.sleep(0.1)
    await conn.execute(DROP_SLOT, name)


@contextlib.asynccontextmanager
async def paused(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> AsyncIterator[None]:
    """The tenant's writes wait (none is refused) while this is held; those in flight have
    committed when it is entered."""
    await scripts.run(conn, PAUSE.format(timeout=literal(FENCE_LOCK_TIMEOUT), tenant=literal(str(tenant_id))))
    try:
        yield
    except BaseException:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


async def fence(conn: asyncpg.Connection, tenant_id: uuid.UUID, target: ScaleUnitId, epoch: int) -> uuid.UUID:
    """Refuse the tenant's writes here from now on (waits for those in flight), with a mark (see
    `mark`) in the same transaction: one round trip. The mark."""
    value, tenant = uuid.uuid4(), literal(str(tenant_id))
    row = FENCE_ROW.format(tenant=tenant, state="'fenced'", target=literal(target), epoch=int(epoch))
    mark = MARK.format(mark=literal(str(value)), tenant=tenant)
    await scripts.run(
        conn, FENCE.format(timeout=literal(FENCE_LOCK_TIMEOUT), tenant=tenant, row=row, mark=mark)
    )
    return value


async def mark_moved(conn: asyncpg.Connection, tenant_id: uuid.UUID, target: ScaleUnitId, epoch: int) -> str:
    """Refuse reads too (the tenant lives on `target` now); the WAL position of the change."""
    tenant = literal(str(tenant_id))
    await conn.execute(
        FENCE_ROW.format(tenant=tenant, state="'moved'", target=literal(target), epoch=int(epoch))
    )
    return str(await conn.fetchval("SELECT pg_current_wal_lsn()::text"))


async def lift(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    await conn.execute(LIFT, tenant_id)


async def mark(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> uuid.UUID:
    """A change of the tenant's own row, committed after everything before it: once the
    target shows it, the target has every earlier write (a subscription applies in commit order)."""
    value = uuid.uuid4()
    await scripts.run(
        conn, f"BEGIN; {MARK.format(mark=literal(str(value)), tenant=literal(str(tenant_id)))}; COMMIT"
    )
    return value
