"""Background health checks: replicas that are down or lag too far leave routing until they recover.

Also follows each scale unit's leader as Patroni reports it, so writes go to the new
primary soon after a failover or switchover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from corestore.pools import Pools
from scale_units.leaders import leader, member_views, with_leaders
from scale_units.model.geography import Geo
from scale_units.model.topology import ScaleUnit, Server
from scale_units.model.types import ServerName, lsn_position
from scale_units.routing import Router

log = logging.getLogger(__name__)
LAG_PROBE_TIMEOUT_S = 1.0
LSN_SQL = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text"
)


class ReplicaMonitor:
    def __init__(
        self,
        router: Router,
        pools: Pools,
        interval_s: float = 0.5,
        max_lag_bytes: int = 16 * 1024 * 1024,
        geo: Geo | None = None,
    ) -> None:
        """`geo`: probe only that geo's scale units (a geo-confined front end connects to no other)."""
        self.router = router
        self.pools = pools
        self.interval_s = interval_s
        self.max_lag_bytes = max_lag_bytes
        self.geo = geo
        self._task: asyncio.Task[None] | None = None
        # As last seen, for metrics: each replica's lag behind its primary, and leader changes.
        self.lag_bytes: dict[ServerName, int] = {}
        self.leader_changes = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _watched(self) -> dict[ServerName, str]:
        """The members this caller routes to: its geo's units and its clouds' catalog units."""
        topology = self.router.topology
        apis = self.pools.state.apis  # with the units `corestore.servers.unit_discovery` added
        catalogs = set(topology.catalogs.values())
        units = [u for u in topology.scale_units.values() if self.geo in (None, u.geo) or u.id in catalogs]
        return {s.name: apis[s.name] for u in units for s in u.servers if s.name in apis}

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:
                log.exception("health check failed")
            await asyncio.sleep(self.interval_s)

    async def check_once(self) -> None:
        views = await member_views(self._watched())
        current = with_leaders(self.router.topology, views)
        if current != self.router.topology:
            before = self.router.topology.scale_units
            self.leader_changes += sum(
                1 for u in current.scale_units.values() if u.primary.name != before[u.id].primary.name
            )
            self.router.use_topology(current)
        self.router.health.quorum_lost = frozenset(
            u.id for u in current.scale_units.values() if (head := leader(u, views)) and not head.quorum
        )
        units = self.router.topology.scale_units.values()
        await asyncio.gather(*(self._check_unit(u) for u in units if self.geo in (None, u.geo)))

    async def _check_unit(self, unit: ScaleUnit) -> None:
        primary_lsn = await self._lsn(unit.primary)
        for replica in unit.replicas:
            lsn = await self._lsn(replica)
            health = self.router.health
            if lsn is None:
                health.mark_down(replica.name)
                continue
            if primary_lsn is not None:
                self.lag_bytes[replica.name] = max(0, primary_lsn - lsn)
            if primary_lsn is not None and primary_lsn - lsn > self.max_lag_bytes:
                log.warning("%s lags %d bytes behind its primary", replica.name, primary_lsn - lsn)
                health.mark_down(replica.name)
            else:
                health.mark_up(replica.name)

    async def _lsn(self, server: Server) -> int | None:
        try:
            async with asyncio.timeout(LAG_PROBE_TIMEOUT_S):
                pool = self.pools.get(server.name)
                value = await pool.fetchval(LSN_SQL)
        except Exception:
            return None
        return None if value is None else lsn_position(str(value))
