"""The shapes of a topology: regions, servers, scale units, and the whole map.

Values are frozen: a `Topology` is read from a file (desired) or from a running
cluster's state (resolved: addresses filled in, roles as they are after failover).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from scale_units.model.countries import CountryTable
from scale_units.model.geography import Cloud, Geo
from scale_units.model.residency import ResidencyTable, default_table
from scale_units.model.types import RegionName, ScaleUnitId, ServerName


class Role(StrEnum):
    PRIMARY = "primary"
    REPLICA = "replica"


class NoQuorum(StrEnum):
    """What a primary does while no replica of its quorum is alive to confirm a commit."""

    WAIT = "wait"  # commits wait for a replica: no acknowledged write is ever lost (RPO 0)
    DEGRADE = "degrade"  # commits go on asynchronously; `cluster status` shows the unit DEGRADED


@dataclass(frozen=True)
class Region:
    """An Azure-style region: a place inside one geo of one cloud."""

    name: RegionName
    cloud: Cloud
    geo: Geo
    latitude: float
    longitude: float
    latency_ms: Mapping[RegionName, float] = field(default_factory=dict)
    datacenters: int = 1  # physical datacenters (availability zones) in the region


@dataclass(frozen=True)
class Address:
    host: str
    port: int


@dataclass(frozen=True)
class Server:
    """One PostgreSQL server of a scale unit: its primary or one of its replicas."""

    name: ServerName
    scale_unit: ScaleUnitId
    region: RegionName
    datacenter: str
    role: Role
    address: Address | None = None

    def with_address(self, address: Address) -> Server:
        return replace(self, address=address)

    def with_role(self, role: Role) -> Server:
        return replace(self, role=role)


@dataclass(frozen=True)
class ScaleUnit:
    """A primary and its streaming replicas, all inside one geo of one cloud.

    Each server stands in a datacenter of its own, so a commit confirmed by any one
    replica (the quorum) is in two datacenters before it is acknowledged.
    """

    id: ScaleUnitId
    cloud: Cloud
    geo: Geo
    capacity: int
    servers: tuple[Server, ...]
    no_quorum: NoQuorum = NoQuorum.WAIT

    @property
    def primary(self) -> Server:
        return next(s for s in self.servers if s.role is Role.PRIMARY)

    @property
    def replicas(self) -> tuple[Server, ...]:
        return tuple(s for s in self.servers if s.role is Role.REPLICA)


@dataclass(frozen=True)
class WanSettings:
    """`[wan]`: whether cross-region connections go through the delaying proxies (`scale_units.wan`)."""

    enabled: bool = False
    jitter_ms: float = 0.0


@dataclass(frozen=True)
class Topology:
    """Every region and scale unit, the country table, and where each cloud's catalog lives."""

    regions: Mapping[RegionName, Region]
    scale_units: Mapping[ScaleUnitId, ScaleUnit]
    countries: CountryTable
    catalogs: Mapping[Cloud, ScaleUnitId]
    residency: ResidencyTable = field(default_factory=default_table)
    wan: WanSettings = field(default_factory=WanSettings)

    def servers(self) -> tuple[Server, ...]:
        return tuple(s for unit in self.scale_units.values() for s in unit.servers)

    def server(self, name: ServerName) -> Server:
        for candidate in self.servers():
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def units_in_cloud(self, cloud: Cloud) -> tuple[ScaleUnit, ...]:
        return tuple(u for u in self.scale_units.values() if u.cloud is cloud)

    def catalog_unit(self, cloud: Cloud) -> ScaleUnit:
        return self.scale_units[self.catalogs[cloud]]

    def clouds(self) -> tuple[Cloud, ...]:
        return tuple(sorted({u.cloud for u in self.scale_units.values()}))
