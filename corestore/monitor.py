"""Background health checks: replicas that are down or lag too far leave routing until they recover.

Also follows each scale unit's leader as Patroni reports it, so writes go to the new
primary soon after a failover or switchover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from scale_units.leaders import member_views, with_leaders
from scale_units.topology import ScaleUnit, Server
from scale_units.types import lsn_position

if TYPE_CHECKING:
    from corestore.store import CoreStore

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 1.0
LSN_SQL = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text"
)


class ReplicaMonitor:
    def __init__(
        self, store: CoreStore, interval_s: float = 0.5, max_lag_bytes: int = 16 * 1024 * 1024
    ) -> None:
        self.store = store
        self.interval_s = interval_s
        self.max_lag_bytes = max_lag_bytes
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:
                log.exception("health check failed")
            await asyncio.sleep(self.interval_s)

    async def check_once(self) -> None:
        views = await member_views(self.store.state.apis)
        current = with_leaders(self.store.topology, views)
        if current != self.store.topology:
            self.store.reload_topology(current)
        await asyncio.gather(*(self._check_unit(u) for u in self.store.topology.scale_units.values()))

    async def _check_unit(self, unit: ScaleUnit) -> None:
        primary_lsn = await self._lsn(unit.primary)
        for replica in unit.replicas:
            lsn = await self._lsn(replica)
            health = self.store.router.health
            if lsn is None:
                health.mark_down(replica.name)
            elif primary_lsn is not None and primary_lsn - lsn > self.max_lag_bytes:
                log.warning("%s lags %d bytes behind its primary", replica.name, primary_lsn - lsn)
                health.mark_down(replica.name)
            else:
                health.mark_up(replica.name)

    async def _lsn(self, server: Server) -> int | None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                pool = await self.store.pools.get(server.name)
                value = await pool.fetchval(LSN_SQL)
        except Exception:
            return None
        return None if value is None else lsn_position(str(value))
