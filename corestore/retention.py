"""Retention: deleted items and directory audit records older than their age go for good.

A bounded background job, run by each front end for its geo's tenants: each round walks a
page of the catalog's tenants (resuming where the last round stopped, wrapping around) and
deletes, per tenant and per table, at most `batch` expired rows, oldest first, in one write
under the tenant's own row-level security (no role crosses tenants). A deleted item that
goes writes its "Hard Delete" audit record and delta change in the same transaction
(migration directory_0011). Two front ends of a geo may purge the same tenant: a row goes once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from corestore.catalog import Catalog
from corestore.errors import CoreStoreError
from corestore.handle import TenantHandle
from corestore.operator import Operator
from scale_units.model.geography import Geo

log = logging.getLogger(__name__)
ZERO = uuid.UUID(int=0)
# table -> the column its age is read from
AGED = {"deleted_items": "deleted_at", "directory_audits": "activity_at"}
PURGE = """DELETE FROM {table} WHERE tenant_id = $1 AND id IN (SELECT o.id FROM {table} o
    WHERE o.tenant_id = $1 AND o.{column} < $2 ORDER BY o.{column} LIMIT $3)"""


@dataclass(frozen=True)
class Retention:
    """How long deleted items and audit records are kept (Entra: 30 days each), and the bounds."""

    deleted_items: timedelta = timedelta(days=30)
    audits: timedelta = timedelta(days=30)
    batch: int = 100  # rows per tenant and table in one round
    tenants_per_round: int = 100
    interval_s: float = 60.0

    def ages(self) -> dict[str, timedelta]:
        return {"deleted_items": self.deleted_items, "directory_audits": self.audits}


async def purge_tenant(handle: TenantHandle, retention: Retention, now: datetime) -> int:
    """One bounded step for one tenant, one transaction: how many rows went."""
    purged = 0
    async with handle.write() as conn:
        for table, age in retention.ages().items():
            sql = PURGE.format(table=table, column=AGED[table])  # both from AGED, never a caller's
            status = await conn.execute(sql, handle.tenant_id, now - age, retention.batch)
            purged += int(status.split()[-1])
    return purged


class RetentionJob:
    """The rounds, every `interval_s`, over one geo's tenants of one cloud's catalog."""

    def __init__(self, catalog: Catalog, operator: Operator, geo: Geo, retention: Retention) -> None:
        self.catalog = catalog
        self.operator = operator
        self.geo = geo
        self.retention = retention
        self._after = ZERO
        self._task: asyncio.Task[None] | None = None
        self.purged = 0  # rows, since this job started

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.retention.interval_s)
            try:
                await self.round()
            except (CoreStoreError, asyncpg.PostgresError, OSError) as exc:
                log.warning("retention round failed: %s", exc)

    async def round(self) -> int:
        """One page of tenants, a bounded step each; how many rows went. A tenant that fails
        (its unit unreachable, moving) is passed over until the next time round."""
        now = datetime.now(UTC)
        tenants = await self.catalog.tenants(self.geo, self._after, self.retention.tenants_per_round)
        self._after = tenants[-1] if len(tenants) == self.retention.tenants_per_round else ZERO
        purged = 0
        for tenant_id in tenants:
            try:
                session = await self.operator.session(tenant_id, self.catalog.cloud)
                purged += await purge_tenant(session, self.retention, now)
            except (CoreStoreError, asyncpg.PostgresError, OSError) as exc:
                log.warning("retention of tenant %s failed: %s", tenant_id, exc)
        self.purged += purged
        return purged
