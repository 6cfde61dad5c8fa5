"""Scale units added to the running cluster (`cluster add-unit`) after this process started.

A placement that names a unit the router does not know triggers one refresh: the cluster's
state file is read again and only the new units' members are asked who leads; the router
and the pools then know them, and the monitor follows them like any other unit. Nothing
else re-reads the state file.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from corestore.errors import Unavailable
from corestore.pools import Pools
from scale_units.leaders import member_views, with_leaders
from scale_units.model.topology import ScaleUnit
from scale_units.model.types import ScaleUnitId
from scale_units.routing import Router
from scale_units.state import ClusterState


class UnitDiscovery:
    def __init__(self, pools: Pools, router: Router) -> None:
        self._pools = pools
        self._router = router
        self._lock = asyncio.Lock()

    @property
    def state(self) -> ClusterState:
        """The cluster's state as last read: it names the servers of every unit found so far."""
        return self._pools.state

    async def unit(self, unit_id: ScaleUnitId) -> ScaleUnit:
        """The unit as the router knows it, after one refresh if it did not."""
        found = await self.find(unit_id)
        if found is None:
            raise Unavailable(f"scale unit {unit_id} is not in this cluster's state")
        return found

    async def find(self, unit_id: ScaleUnitId) -> ScaleUnit | None:
        """The unit, after one refresh if the router did not know it; None if the cluster has none."""
        found = self._router.topology.scale_units.get(unit_id)
        if found is None:
            async with self._lock:
                if unit_id not in self._router.topology.scale_units:
                    await self._refresh()
            found = self._router.topology.scale_units.get(unit_id)
        return found

    async def _refresh(self) -> None:
        state = await asyncio.to_thread(ClusterState.load, self._pools.state.directory)
        known = self._router.topology.scale_units
        planned = state.planned_topology
        added = {uid: unit for uid, unit in planned.scale_units.items() if uid not in known}
        if not added:
            return
        apis = state.apis
        views = await member_views({s.name: apis[s.name] for u in added.values() for s in u.servers})
        led = with_leaders(replace(planned, scale_units=added), views).scale_units
        self._pools.use_state(state)
        self._router.use_topology(replace(self._router.topology, scale_units={**known, **led}))
