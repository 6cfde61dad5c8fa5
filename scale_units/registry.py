"""Where the front ends are: each registers its region and URL in the cluster's state directory.

Any instance can then send a client to the nearest front end of another geo. An
entry is a small JSON file per instance, written atomically; one whose process has
gone is skipped (an entry without a pid, as a deployment writes it, always counts).
A pid means something only on its own host: compose front ends, each in a container
of its own, share the directory, so an entry from another host always counts.
An entry naming a region the topology lacks is refused, naming the entry. A live process of
this host (the local cluster's front ends) is offered to clients only while its `/readyz`
answers 200 (`scale_units.readiness_probe`); another host's URL is its clients' address, which
may not lead back here (a compose port published on the host), and its orchestrator's
healthchecks watch it.
With the WAN on, an entry also lists its links (`scale_units.wan.links`): the address a
client of each other region reaches it by, across the WAN; a redirect names that, never
the entry's own URL.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scale_units.errors import TopologyError
from scale_units.model.geography import Cloud, Geo
from scale_units.model.topology import Topology
from scale_units.model.types import RegionName
from scale_units.readiness_probe import ReadinessProbe
from scale_units.routing import distance_ms

REGISTRY_DIR = "frontends"
LOG_DIR = Path("logs") / "frontends"  # each instance's log: REGION-PORT.log, read by the residency audit
Ready = Callable[[str], bool]  # whether the front end at this URL is ready to serve


def log_path(state_dir: Path, region: RegionName, port: int) -> Path:
    return state_dir / LOG_DIR / f"{region}-{port}.log"


def log_region(path: Path) -> RegionName:
    """The region of a front end's log file, from its name."""
    return path.stem.rsplit("-", 1)[0]


@dataclass(frozen=True)
class FrontEndEntry:
    region: RegionName
    url: str
    pid: int | None = None
    host: str | None = None  # where `pid` runs
    links: dict[RegionName, str] = field(default_factory=dict)  # the WAN's way in, by client region

    @property
    def local_pid(self) -> int | None:
        """Its pid if it is a process of this host, where its pid and its URL mean something."""
        return self.pid if self.host in (None, socket.gethostname()) else None

    def url_from(self, region: RegionName) -> str | None:
        """Where a client in `region` reaches this front end: its URL from its own region or
        without a WAN, else the link from `region` (None if it has none: no way there)."""
        if region == self.region or not self.links:
            return self.url
        return self.links.get(region)


class FrontEndRegistry:
    def __init__(self, state_dir: Path, topology: Topology, ready: Ready | None = None) -> None:
        self.directory = state_dir / REGISTRY_DIR
        self.topology = topology
        self.ready = ready or ReadinessProbe(state_dir)

    def register(self, entry: FrontEndEntry) -> Path:
        """Add `entry` (refused if its region is unknown); the path is what `unregister` takes."""
        name = f"{entry.region}-{uuid.uuid4().hex[:12]}.json"
        self._check(entry, name)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(entry)))
        tmp.replace(path)
        return path

    def unregister(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def entries(self) -> list[FrontEndEntry]:
        """The live front ends, in file order."""
        found = []
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []:
            try:
                raw = json.loads(path.read_text())
                links = {str(k): str(v) for k, v in raw.get("links", {}).items()}
                entry = FrontEndEntry(
                    str(raw["region"]), str(raw["url"]), raw.get("pid"), raw.get("host"), links
                )
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                raise TopologyError(f"{REGISTRY_DIR}/{path.name}", "is not a front-end entry") from None
            self._check(entry, path.name)
            if entry.local_pid is None or _alive(entry.local_pid):
                found.append(entry)
        return found

    def nearest(self, cloud: Cloud, geo: Geo, from_region: RegionName) -> FrontEndEntry | None:
        """The ready front end of `cloud`/`geo` nearest to `from_region`, if any a client there can reach."""
        here = self.topology.regions[from_region]
        serving = [
            e
            for e in self.entries()
            if self.topology.regions[e.region].cloud is cloud
            and self.topology.regions[e.region].geo is geo
            and e.url_from(from_region) is not None
            and (e.local_pid is None or self.ready(e.url))
        ]
        return min(serving, key=lambda e: distance_ms(here, self.topology.regions[e.region]), default=None)

    def _check(self, entry: FrontEndEntry, name: str) -> None:
        known = ", ".join(sorted(self.topology.regions))
        if entry.region not in self.topology.regions:
            raise TopologyError(f"{REGISTRY_DIR}/{name}.region", f"unknown region {entry.region!r} ({known})")
        for region in entry.links:
            if region not in self.topology.regions:
                raise TopologyError(f"{REGISTRY_DIR}/{name}.links", f"unknown region {region!r} ({known})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
