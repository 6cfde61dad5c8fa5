"""The catalog's side of a move: one mover per tenant, the move's phase, and the flip.

The flip is the move's commit point: one catalog transaction names the new unit,
raises the epoch, moves the slot counts and marks the move `flipped`. Before it a
rerun undoes the move; after it a rerun finishes it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from corestore.catalog import Catalog
from corestore.errors import InvalidRequest, MoveInProgress
from corestore.pools import Connection
from scale_units.model.types import ScaleUnitId

# A session-level lock on a connection the mover holds: it ends with the mover, even killed.
TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended('move:' || $1::uuid::text, 0))"
UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('move:' || $1::uuid::text, 0))"
PENDING = "SELECT source, target, phase FROM moves WHERE tenant_id = $1"
BEGIN = "INSERT INTO moves (tenant_id, source, target, phase) VALUES ($1, $2, $3, 'copying')"
PHASE = "UPDATE moves SET phase = $2 WHERE tenant_id = $1"
END = "DELETE FROM moves WHERE tenant_id = $1"
EPOCH = "SELECT epoch FROM tenants WHERE tenant_id = $1"
# One statement (one round trip inside the fence): the placement, both units' counts, the phase.
FLIP = """WITH flipped AS (
  UPDATE tenants SET scale_unit = $3, epoch = epoch + 1
  WHERE tenant_id = $1 AND scale_unit = $2 RETURNING epoch
), counted AS (
  UPDATE scale_units SET tenant_count = tenant_count + CASE WHEN id = $3 THEN 1 ELSE -1 END
  WHERE id IN ($2, $3) AND EXISTS (SELECT FROM flipped)
), phased AS (
  UPDATE moves SET phase = 'flipped' WHERE tenant_id = $1 AND EXISTS (SELECT FROM flipped)
)
SELECT epoch FROM flipped"""
ROOM = "SELECT capacity - tenant_count AS room, accepts_tenants FROM scale_units WHERE id = $1"


class Phase(StrEnum):
    COPYING = "copying"
    FENCED = "fenced"
    FLIPPED = "flipped"


@dataclass(frozen=True)
class PendingMove:
    source: ScaleUnitId
    target: ScaleUnitId
    phase: Phase


class Ledger:
    """One tenant's moves, on a catalog connection held for the mover's lifetime."""

    def __init__(self, conn: Connection, tenant_id: uuid.UUID) -> None:
        self._conn = conn
        self.tenant_id = tenant_id

    async def pending(self) -> PendingMove | None:
        row = await self._conn.fetchrow(PENDING, self.tenant_id)
        return None if row is None else PendingMove(row["source"], row["target"], Phase(row["phase"]))

    async def check_target(self, unit: ScaleUnitId) -> None:
        """A unit that drains, or is full, takes no tenant (`InvalidRequest`, nothing changed)."""
        row = await self._conn.fetchrow(ROOM, unit)
        if row is None:
            raise InvalidRequest(f"no scale unit {unit!r} in the catalog")
        if not row["accepts_tenants"]:
            raise InvalidRequest(f"scale unit {unit} is draining: it takes no tenants")
        if row["room"] < 1:
            raise InvalidRequest(f"scale unit {unit} has no room for another tenant")

    async def epoch(self) -> int:
        return int(await self._conn.fetchval(EPOCH, self.tenant_id))

    async def begin(self, source: ScaleUnitId, target: ScaleUnitId) -> None:
        await self._conn.execute(BEGIN, self.tenant_id, source, target)

    async def set_phase(self, phase: Phase) -> None:
        await self._conn.execute(PHASE, self.tenant_id, phase.value)

    async def flip(self, source: ScaleUnitId, target: ScaleUnitId) -> int:
        """Name the new unit; the new epoch."""
        epoch = await self._conn.fetchval(FLIP, self.tenant_id, source, target)
        if epoch is None:
            raise MoveInProgress(f"tenant {self.tenant_id} is no longer on {source}")
        return int(epoch)

    async def end(self) -> None:
        await self._conn.execute(END, self.tenant_id)


@asynccontextmanager
async def exclusive(catalog: Catalog, tenant_id: uuid.UUID) -> AsyncIterator[Ledger]:
    """The tenant's ledger, or `MoveInProgress` if another mover holds it."""
    async with catalog.connect() as conn:
        if not await conn.fetchval(TRY_LOCK, tenant_id):
            raise MoveInProgress(f"a move of tenant {tenant_id} is running")
        try:
            yield Ledger(conn, tenant_id)
        finally:
            # A catalog connection that died took its session's lock along (and its pool
            # took the connection back): nothing to unlock, and the mover's own error stands.
            with suppress(asyncpg.InterfaceError):
                if not conn.is_closed():
                    await conn.fetchval(UNLOCK, tenant_id)
