"""Sign-in log rows written in batches: one transaction per scale unit's primary, many tenants in it.

A token grant must not wait for its log row's quorum commit, so the front end hands
rows to a background writer that calls `SignInLog.write` with whatever has queued up.
Row-level security still decides: before each tenant's rows the transaction sets
that tenant (`set_config(..., true)`, gone at commit), and its rows go in with one
statement, so a row can only land in the tenant it names.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from corestore.pools import Pools
from corestore.rls import SETTING
from scale_units.model.types import ScaleUnitId
from scale_units.routing import Router

log = logging.getLogger(__name__)
PRINCIPAL_CHARS = 256
ACQUIRE_TIMEOUT_S = 2.0
SET_TENANT_SQL = f"SELECT set_config('{SETTING}', $1, true)"
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

    def __init__(self, pools: Pools, router: Router) -> None:
        self._pools = pools
        self._router = router

    async def write(self, records: Sequence[SignInRecord]) -> list[SignInRecord]:
        """Write `records` to their scale units' primaries, one transaction per primary.

        Returns the records of units whose transaction failed (each failure logged), so
        the caller decides whether to try them again; the other units' rows are committed.
        """
        by_unit: dict[ScaleUnitId, dict[uuid.UUID, list[SignInRecord]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for record in records:
            by_unit[record.scale_unit][record.tenant_id].append(record)
        unwritten: list[SignInRecord] = []
        for unit_id, tenants in by_unit.items():
            try:
                await self._write_unit(unit_id, tenants)
            except Exception:
                log.warning("sign-in rows for %s not written", unit_id, exc_info=True)
                unwritten.extend(r for rows in tenants.values() for r in rows)
        return unwritten

    async def _write_unit(self, unit_id: ScaleUnitId, tenants: dict[uuid.UUID, list[SignInRecord]]) -> None:
        primary = self._router.write_target(self._router.topology.scale_units[unit_id])
        pool = await self._pools.get(primary.name)
        async with pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn, conn.transaction():
            for tenant_id, rows in tenants.items():
                await conn.execute(SET_TENANT_SQL, str(tenant_id))
                columns = [list(c) for c in zip(*(r.columns() for r in rows), strict=True)]
                await conn.execute(INSERT_SQL, tenant_id, *columns)
