"""Sign-in log rows written in batches: one transaction per scale unit's primary, many tenants in it.

A token grant must not wait for its log row's quorum commit, so the front end hands
rows to a background writer that calls `SignInLog.write` with whatever has queued up.
Row-level security still decides: before each tenant's rows the transaction sets
that tenant (`corestore.enter_tenant`, gone at commit), and its rows go in with one
statement, so a row can only land in the tenant it names. A tenant a move fenced
on that unit refuses its rows (a savepoint keeps the others'): they are handed back
with the unit the catalog names now, for the next batch.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import asyncpg

from corestore.pools import Pools
from corestore.session import MOVED_SQLSTATE, Relocate
from scale_units.model.types import ScaleUnitId
from scale_units.routing import Router

log = logging.getLogger(__name__)
PRINCIPAL_CHARS = 256
ACQUIRE_TIMEOUT_S = 2.0
ENTER_TENANT_SQL = "SELECT corestore.enter_tenant($1::uuid, true)"
INSERT_SQL = """
INSERT INTO public.sign_ins
    (tenant_id, id, created_at, result, reason, principal, principal_id, client_address, region)
SELECT $1::uuid, r.*
FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::uuid[],
            $8::text[], $9::text[]) AS r
"""


@dataclass(frozen=True)
class SignInRecord:
    """One token request's outcome, stamped when it was answered (not when the batch commits)."""

    tenant_id: uuid.UUID
    scale_unit: ScaleUnitId
    created_at: datetime
    result: str
    principal: str
    region: str
    reason: str | None = None
    principal_id: uuid.UUID | None = None
    client_address: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def columns(self) -> tuple[object, ...]:
        """This record's values for `INSERT_SQL`'s arrays, in their order."""
        return (
            self.id,
            self.created_at,
            self.result,
            self.reason,
            self.principal[:PRINCIPAL_CHARS],
            self.principal_id,
            self.client_address,
            self.region,
        )


class SignInLog:
    """Writes batches of sign-in records; the store holds one."""

    def __init__(self, pools: Pools, router: Router, relocate: Relocate) -> None:
        self._pools = pools
        self._router = router
        self._relocate = relocate

    async def write(self, records: Sequence[SignInRecord]) -> list[SignInRecord]:
        """Write `records` to their scale units' primaries, one transaction per primary.

        Returns the records of units whose transaction failed (each failure logged), so
        the caller decides whether to try them again, and those of moved tenants, bound to
        their new unit; the other units' rows are committed.
        """
        by_unit: dict[ScaleUnitId, dict[uuid.UUID, list[SignInRecord]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for record in records:
            by_unit[record.scale_unit][record.tenant_id].append(record)
        unwritten: list[SignInRecord] = []
        for unit_id, tenants in by_unit.items():
            try:
                for tenant_id in await self._write_unit(unit_id, tenants):
                    unit, _ = await self._relocate(
                        tenant_id, self._router.topology.scale_units[unit_id].cloud
                    )
                    unwritten.extend(replace(r, scale_unit=unit.id) for r in tenants[tenant_id])
            except Exception:
                log.warning("sign-in rows for %s not written", unit_id, exc_info=True)
                unwritten.extend(r for rows in tenants.values() for r in rows)
        return unwritten

    async def _write_unit(
        self, unit_id: ScaleUnitId, tenants: dict[uuid.UUID, list[SignInRecord]]
    ) -> list[uuid.UUID]:
        """The tenants whose rows this unit refused because they moved."""
        primary = self._router.write_target(self._router.topology.scale_units[unit_id])
        pool = self._pools.get(primary.name)
        moved = []
        async with pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn, conn.transaction():
            for tenant_id, rows in tenants.items():
                columns = [list(c) for c in zip(*(r.columns() for r in rows), strict=True)]
                try:
                    async with conn.transaction():
                        await conn.execute(ENTER_TENANT_SQL, tenant_id)
                        await conn.execute(INSERT_SQL, tenant_id, *columns)
                except asyncpg.PostgresError as exc:
                    if exc.sqlstate != MOVED_SQLSTATE:
                        raise
                    moved.append(tenant_id)
        return moved
