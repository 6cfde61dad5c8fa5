"""The residency report: the component table for this cluster, or where one tenant's data is.

For a tenant it names every place: the servers and tables holding its rows (read
by the audit, so it is what is there, not what should be), the WAL directories of
its scale unit, its cloud's key ring file, and the regions whose front ends may
process it.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from corestore.residency.audit import Audit, Holding
from corestore.types import Placement
from scale_units.model.residency import Component, Model, Rule
from scale_units.model.topology import Topology
from scale_units.state import ClusterState

FRONT_END_PLACE = "in memory of this region's front ends; their logs in logs/frontends/REGION-PORT.log"


@dataclass(frozen=True)
class Location:
    where: str  # a server, a directory or file, or a region
    region: str | None
    what: str  # tables, a directory's role, ...
    rows: int | None = None


@dataclass(frozen=True)
class ComponentReport:
    rule: Rule
    locations: tuple[Location, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.rule.to_json(), "locations": [asdict(loc) for loc in self.locations]}


def cluster_rules(topology: Topology) -> list[Rule]:
    """Every rule of the table, for each model this cluster's clouds offer."""
    models = {Model.SOVEREIGN if c.sovereign else Model.GEO_LOCATED for c in topology.clouds()}
    if any(not c.sovereign for c in topology.clouds()):
        models.add(Model.WORLDWIDE)
    return [topology.residency.rule(m, c) for m in Model if m in models for c in Component]


def tenant_report(
    state: ClusterState, topology: Topology, audit: Audit, tenant_id: uuid.UUID, home: Placement
) -> list[ComponentReport]:
    model = Model.of(home.cloud, home.geo)
    unit = topology.scale_units[home.scale_unit]
    held = audit.of(tenant_id)
    places: dict[Component, tuple[Location, ...]] = {
        component: tuple(_from(h) for h in held if h.component is component)
        for component in (
            Component.DIRECTORY_OBJECTS,
            Component.SIGN_IN_LOGS,
            Component.CATALOG,
            Component.TENANT_MOVES,
        )
    }
    places[Component.WAL] = tuple(
        Location(str(state.data_dir(s.name) / "pg_wal"), s.region, "write-ahead log") for s in unit.servers
    )
    places[Component.SIGNING_KEYS] = (
        Location(
            str(state.directory / "keys" / f"{home.cloud.value}.json"), None, f"{home.cloud.value} key ring"
        ),
    )
    places[Component.FRONT_END] = tuple(
        Location(r.name, r.name, FRONT_END_PLACE)
        for r in topology.regions.values()
        if r.cloud is home.cloud and r.geo is home.geo
    ) + tuple(_from(h) for h in held if h.component is Component.FRONT_END)
    return [ComponentReport(topology.residency.rule(model, c), places[c]) for c in Component]


def _from(holding: Holding) -> Location:
    return Location(holding.where, holding.region, holding.what, holding.rows)
