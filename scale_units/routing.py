"""Which server answers: writes to the primary, reads to the nearest healthy replica.

Only servers of the tenant's own scale unit are ever candidates, so a read can
never be served from outside the tenant's geo or cloud.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from scale_units.model.topology import Region, ScaleUnit, Server, Topology
from scale_units.model.types import RegionName, ScaleUnitId, ServerName

EARTH_RADIUS_KM = 6371.0
KM_PER_MS = 100.0  # round trip in fibre: roughly 1 ms per 100 km of distance


def distance_ms(a: Region, b: Region) -> float:
    """Measured latency from the topology if given, else estimated from great-circle distance."""
    if a.name == b.name:
        return 0.0
    if b.name in a.latency_ms:
        return a.latency_ms[b.name]
    if a.name in b.latency_ms:
        return b.latency_ms[a.name]
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h)) / KM_PER_MS


@dataclass
class HealthBook:
    """Servers seen failing, each kept out of routing for an exponentially growing while."""

    base_backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _down_until: dict[ServerName, float] = field(default_factory=dict)
    _failures: dict[ServerName, int] = field(default_factory=dict)
    marked_down: Counter[ServerName] = field(default_factory=Counter)  # times, since start
    # Units whose primary has no replica confirming commits now (degraded, or commits waiting).
    quorum_lost: frozenset[ScaleUnitId] = frozenset()

    def mark_down(self, name: ServerName) -> None:
        self.marked_down[name] += 1
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        backoff = min(self.max_backoff_s, self.base_backoff_s * 2 ** (failures - 1))
        self._down_until[name] = self.clock() + backoff

    def mark_up(self, name: ServerName) -> None:
        self._failures.pop(name, None)
        self._down_until.pop(name, None)

    @property
    def any_down(self) -> bool:
        """Whether any server was ever marked down and not yet seen up again."""
        return bool(self._down_until)

    def is_up(self, name: ServerName) -> bool:
        return self._down_until.get(name, 0.0) <= self.clock()


@dataclass
class Router:
    """Routes one caller region's requests; one per front-end instance or library user."""

    topology: Topology
    region: RegionName | None = None
    health: HealthBook = field(default_factory=HealthBook)

    _orders: dict[ScaleUnitId, tuple[Server, ...]] = field(default_factory=dict, repr=False)

    def write_target(self, unit: ScaleUnit) -> Server:
        """The unit's leader as last reported (a session may hold the unit from before a failover)."""
        return self._order(unit)[-1]

    def read_order(self, unit: ScaleUnit) -> list[Server]:
        """Healthy replicas nearest first, then the primary; servers marked down go last."""
        ordered = self._order(unit)
        if not self.health.any_down:
            return list(ordered)
        return [s for s in ordered if self.health.is_up(s.name)] + [
            s for s in ordered if not self.health.is_up(s.name)
        ]

    def _order(self, unit: ScaleUnit) -> tuple[Server, ...]:
        """Replicas nearest first, then the primary: worked out once per unit and topology (it
        is on every read's path), as last reported (a session may hold an older unit)."""
        found = self._orders.get(unit.id)
        if found is None:
            current = self.topology.scale_units.get(unit.id, unit)
            replicas = sorted(current.replicas, key=lambda s: (self._distance(s), s.name))
            found = self._orders[unit.id] = (*replicas, current.primary)
        return found

    def _distance(self, server: Server) -> float:
        if self.region is None:
            return 0.0
        return distance_ms(self.topology.regions[self.region], self.topology.regions[server.region])

    def use_topology(self, topology: Topology) -> None:
        """The same caller and health book over a new topology (after a failover)."""
        self.topology = topology
        self._orders = {}
