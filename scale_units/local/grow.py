"""`cluster add-unit`: one more scale unit of an existing geo, in a running local cluster.

Everything is checked before anything starts: the new unit goes through the topology
loader together with the cluster's own units, so it obeys the same rules. Its members then
start under Patroni on the cloud's etcd like `cluster up`'s, and only once they stream is
the unit written to the cluster's state. A failure on the way stops what was started and
removes its files and etcd keys: the state directory is as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scale_units.errors import ClusterError, TopologyError
from scale_units.local import launcher
from scale_units.local.patroni import dcs_prefix
from scale_units.model.loader import DEFAULT_CAPACITY, parse_topology
from scale_units.model.topology import Region, ScaleUnit, Topology
from scale_units.model.types import RegionName, ScaleUnitId
from scale_units.ports import free_ports
from scale_units.progress import Report, quiet
from scale_units.state import ClusterState, ServerState
from scale_units.wan import cluster as wan_cluster

# Losing any one server must leave a primary and a replica to confirm its commits.
MIN_REPLICAS = 2


@dataclass(frozen=True)
class UnitRequest:
    """What `add-unit` was asked for; regions left out default to the geo's."""

    unit: ScaleUnitId
    geo: str
    primary: RegionName | None = None
    replicas: tuple[RegionName, ...] | None = None
    capacity: int = DEFAULT_CAPACITY


def add_unit(directory: Path, request: UnitRequest, report: Report = quiet) -> ClusterState:
    """Start the requested unit's servers and record it; the state with it (saved)."""
    ClusterState.load(directory)  # no cluster there: that error, before any lock
    with _exclusive(directory):
        return _add(ClusterState.load(directory), request, report)  # as the previous add-unit left it


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """One add-unit at a time per cluster: two would both find a name free, and the second to
    save would drop the first's unit. The lock is on the directory itself: no file to leave."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClusterError(f"another add-unit is running on the cluster at {directory}") from None
        yield
    finally:
        os.close(fd)


def _add(state: ClusterState, request: UnitRequest, report: Report) -> ClusterState:
    grown, unit = plan(state, request)
    names = [s.name for s in unit.servers]
    try:
        wan_cluster.write_specs(grown, names)
        wan_cluster.start(grown)
        launcher.start_units(grown, [unit], report)
    except BaseException:
        _undo(grown, unit)
        raise
    grown.save()
    return grown


def plan(state: ClusterState, request: UnitRequest) -> tuple[ClusterState, ScaleUnit]:
    """The cluster's state with the unit added (not saved), or a `TopologyError` naming the problem."""
    key = f"scale_units.{request.unit}"
    planned = state.planned_topology
    if request.unit.lower() in {u.lower() for u in planned.scale_units}:
        raise TopologyError(key, "a scale unit of that name exists already")
    regions = _geo_regions(planned, request.geo)
    cloud = regions[0].cloud
    if cloud.value not in state.etcd:
        raise TopologyError(key, f"cloud {cloud.value} has no scale unit (and no etcd) in this cluster")
    primary = request.primary or regions[0].name
    replicas = request.replicas
    if replicas is None:
        replicas = tuple(r.name for r in regions if r.name != primary or r.datacenters > 1)
        if len(replicas) < MIN_REPLICAS:
            raise TopologyError(key, f"geo {request.geo} has too few regions for a quorum: {_quorum_rule()}")
    elif len(replicas) < MIN_REPLICAS:
        raise TopologyError(f"{key}.replicas", _quorum_rule())
    spec: dict[str, Any] = {
        "cloud": cloud.value,
        "geo": request.geo,
        "capacity": request.capacity,
        "primary": primary,
        "replicas": list(replicas),
    }
    raw = state.topology_raw
    raw["scale_units"][request.unit] = spec
    unit = parse_topology(raw).scale_units[request.unit]
    taken = [s.name for s in unit.servers if s.name in state.servers]
    if taken:
        raise TopologyError(key, f"server names taken: {', '.join(taken)}")
    grown = replace(
        state,
        added_units={**state.added_units, request.unit: spec},
        servers={**state.servers, **_ports(state, [s.name for s in unit.servers])},
    )
    return grown, grown.planned_topology.scale_units[request.unit]


def _quorum_rule() -> str:
    return (
        f"a unit needs a primary and {MIN_REPLICAS} or more replicas, each in a datacenter of its own, "
        "in two or more regions, so that losing one server never stops writes"
    )


def _geo_regions(topology: Topology, geo: str) -> list[Region]:
    found = [r for r in topology.regions.values() if r.geo.value == geo]
    if not found:
        known = ", ".join(sorted({r.geo.value for r in topology.regions.values()}))
        raise TopologyError("--geo", f"unknown geo {geo!r} (this cluster's geos: {known})")
    return found


def _ports(state: ClusterState, names: Sequence[str]) -> dict[str, ServerState]:
    """Fresh ports for `names`, none of them one a stopped server of the cluster will want back."""
    wan = any(s.proxy_port is not None for s in state.servers.values())
    used = {p for s in state.servers.values() for p in (s.port, s.api_port, s.proxy_port)}
    used |= {p for e in state.etcd.values() for p in (e.client_port, e.peer_port)}
    per_server = 3 if wan else 2
    ports = iter([p for p in free_ports(per_server * len(names) + len(used)) if p not in used])
    return {
        name: ServerState(next(ports), next(ports), proxy_port=next(ports) if wan else None) for name in names
    }


def _undo(state: ClusterState, unit: ScaleUnit) -> None:
    """Nothing of a half-started unit stays: its processes, files, and Patroni's keys in etcd."""
    for server in unit.servers:
        with contextlib.suppress(Exception):
            launcher.process(state, server.name).kill()
        with contextlib.suppress(Exception):
            wan_cluster.proxy_daemon(state, server.name).kill()
        shutil.rmtree(state.data_dir(server.name), ignore_errors=True)
        for path in state.run_dir.glob(f"{server.name}.*"):
            path.unlink(missing_ok=True)
        for path in state.run_dir.glob(f"wan-{server.name}.*"):
            path.unlink(missing_ok=True)
        state.log_file(server.name).unlink(missing_ok=True)
        wan_cluster.proxy_daemon(state, server.name).logfile.unlink(missing_ok=True)
    with contextlib.suppress(Exception):
        launcher.etcd(state, unit.cloud.value).delete_prefix(dcs_prefix(unit.id))
    if not all(launcher.process(state, s.name).patroni.pid() is None for s in unit.servers):
        raise ClusterError(f"{unit.id}: a member survived the undo; stop it by hand")
