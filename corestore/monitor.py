"""Background health checks: replicas that are down or lag too far leave routing until they recover.

Also notices a new topology (roles changed by `corestore failover`) and reloads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from scale_units.geography import Geo
from scale_units.state import STATE_FILE
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
        self,
        store: CoreStore,
        interval_s: float = 0.5,
        max_lag_bytes: int = 16 * 1024 * 1024,
        geo: Geo | None = None,
    ) -> None:
        """`geo`: watch only that geo's scale units (a geo-confined front end connects to no other)."""
        self.store = store
        self.geo = geo
        self.interval_s = interval_s
        self.max_lag_bytes = max_lag_bytes
        self._task: asyncio.Task[None] | None = None
        self._state_mtime = self._mtime()

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
        if self._mtime() != self._state_mtime:
            self._state_mtime = self._mtime()
            self.store.reload_topology()
        units = self.store.router.topology.scale_units.values()
        await asyncio.gather(*(self._check_unit(u) for u in units if self.geo in (None, u.geo)))

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

    def _mtime(self) -> float:
        try:
            return (self.store.state.directory / STATE_FILE).stat().st_mtime
        except FileNotFoundError:
            return 0.0
