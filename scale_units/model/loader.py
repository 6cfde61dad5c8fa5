"""Read a topology TOML file into a validated `Topology`.

Every refusal is a `TopologyError` naming the offending key (`scale_units.eu-1.replicas`),
so a typo is found before any server is started.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from scale_units.errors import TopologyError, checked
from scale_units.model.countries import CountryTable, default_country_table, parse_country_table
from scale_units.model.geography import Cloud, parse_cloud, parse_geo
from scale_units.model.residency import default_table
from scale_units.model.topology import NoQuorum, Region, Role, ScaleUnit, Server, Topology, WanSettings
from scale_units.model.types import RegionName, ScaleUnitId

TOP_KEYS = {"regions", "scale_units", "catalogs", "countries", "residency", "wan"}
WAN_KEYS = {"enabled", "jitter_ms"}
REGION_KEYS = {"cloud", "geo", "latitude", "longitude", "latency_ms", "datacenters"}
UNIT_KEYS = {"cloud", "geo", "capacity", "primary", "replicas", "no_quorum"}
NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
DEFAULT_CAPACITY = 10_000  # tenants of a scale unit whose table names none


def default_topology_path(name: str = "default") -> Path:
    """A topology shipped with the package: `default`, `sovereign`, `large`, `compose`, ..."""
    return Path(str(resources.files("scale_units").joinpath(f"topologies/{name}.toml")))


def load_topology(path: Path | str) -> Topology:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise TopologyError(str(path), "no such topology file") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(str(path), f"not valid TOML ({exc})") from None
    return parse_topology(raw)


def parse_topology(raw: Mapping[str, Any]) -> Topology:
    _no_unknown_keys(raw, TOP_KEYS, "topology")
    regions = _parse_regions(_table(raw, "regions", required=True))
    units = _parse_units(_table(raw, "scale_units", required=True), regions)
    countries = _parse_countries(raw)
    catalogs = _parse_catalogs(_table(raw, "catalogs", required=False), units)
    residency = default_table().merged(_table(raw, "residency", required=False))
    wan = _parse_wan(_table(raw, "wan", required=False))
    return Topology(regions, units, countries, catalogs, residency, wan)


def _parse_wan(raw: Mapping[str, Any]) -> WanSettings:
    _no_unknown_keys(raw, WAN_KEYS, "wan")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise TopologyError("wan.enabled", "must be true or false")
    jitter = raw.get("jitter_ms", 0.0)
    if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter < 1000:
        raise TopologyError("wan.jitter_ms", "must be a number of milliseconds from 0 to 1000")
    return WanSettings(enabled, float(jitter))


def _table(raw: Mapping[str, Any], key: str, *, required: bool) -> Mapping[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise TopologyError(key, "is missing")
        return {}
    if not isinstance(value, Mapping) or (required and not value):
        raise TopologyError(key, "must be a non-empty table")
    return value


def _no_unknown_keys(raw: Mapping[str, Any], allowed: set[str], key: str) -> None:
    for name in raw:
        if name not in allowed:
            raise TopologyError(f"{key}.{name}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _check_name(name: str, key: str, seen: set[str]) -> None:
    if not NAME.match(name):
        raise TopologyError(key, "names are lowercase letters, digits and '-', starting with a letter")
    if name.lower() in seen:
        raise TopologyError(key, "duplicate name")
    seen.add(name.lower())


def _parse_regions(raw: Mapping[str, Any]) -> dict[RegionName, Region]:
    regions: dict[RegionName, Region] = {}
    for name, spec in raw.items():
        key = f"regions.{name}"
        _check_name(name, key, set(regions))
        if not isinstance(spec, Mapping):
            raise TopologyError(key, "must be a table")
        _no_unknown_keys(spec, REGION_KEYS, key)
        cloud = checked(f"{key}.cloud", parse_cloud, str(spec.get("cloud")))
        geo = checked(f"{key}.geo", parse_geo, cloud, str(spec.get("geo")))
        regions[name] = Region(
            name=name,
            cloud=cloud,
            geo=geo,
            latitude=_coordinate(spec, "latitude", 90.0, key),
            longitude=_coordinate(spec, "longitude", 180.0, key),
            latency_ms=_latencies(spec.get("latency_ms", {}), f"{key}.latency_ms"),
            datacenters=_datacenters(spec.get("datacenters", 1), f"{key}.datacenters"),
        )
    for region in regions.values():
        for other in region.latency_ms:
            if other not in regions or regions[other].cloud is not region.cloud:
                raise TopologyError(f"regions.{region.name}.latency_ms.{other}", "unknown region")
    return regions


def _coordinate(spec: Mapping[str, Any], name: str, bound: float, key: str) -> float:
    value = spec.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TopologyError(f"{key}.{name}", "must be a number")
    if not math.isfinite(value) or abs(value) > bound:
        raise TopologyError(f"{key}.{name}", f"must be between -{bound:g} and {bound:g}")
    return float(value)


def _datacenters(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9:
        raise TopologyError(key, "must be a whole number of datacenters from 1 to 9")
    return value


def _latencies(raw: Any, key: str) -> dict[RegionName, float]:
    if not isinstance(raw, Mapping):
        raise TopologyError(key, "must be a table of region = milliseconds")
    out: dict[RegionName, float] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise TopologyError(f"{key}.{name}", "must be a non-negative number of milliseconds")
        out[name] = float(value)
    return out


def _parse_units(
    raw: Mapping[str, Any], regions: Mapping[RegionName, Region]
) -> dict[ScaleUnitId, ScaleUnit]:
    units: dict[ScaleUnitId, ScaleUnit] = {}
    for unit_id, spec in raw.items():
        key = f"scale_units.{unit_id}"
        _check_name(unit_id, key, set(units))
        if not isinstance(spec, Mapping):
            raise TopologyError(key, "must be a table")
        _no_unknown_keys(spec, UNIT_KEYS, key)
        units[unit_id] = _parse_unit(unit_id, spec, regions, key)
    return units


def _parse_unit(
    unit_id: str, spec: Mapping[str, Any], regions: Mapping[RegionName, Region], key: str
) -> ScaleUnit:
    cloud = checked(f"{key}.cloud", parse_cloud, str(spec.get("cloud")))
    geo = checked(f"{key}.geo", parse_geo, cloud, str(spec.get("geo")))
    capacity = spec.get("capacity", DEFAULT_CAPACITY)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise TopologyError(f"{key}.capacity", "must be a positive whole number of tenants")
    primary = spec.get("primary")
    replicas = spec.get("replicas")
    if not isinstance(primary, str):
        raise TopologyError(f"{key}.primary", "must name the primary's region")
    if not isinstance(replicas, list) or not replicas or not all(isinstance(r, str) for r in replicas):
        raise TopologyError(f"{key}.replicas", "must list one or more replica regions")
    placed = [(primary, Role.PRIMARY, f"{key}.primary")]
    placed += [(r, Role.REPLICA, f"{key}.replicas") for r in replicas]
    for region_name, _, where in placed:
        _check_region(region_name, regions, cloud, geo, where)
    if len({region for region, _, _ in placed}) < 2:
        raise TopologyError(f"{key}.replicas", "a scale unit's servers must span two or more regions")
    servers = _name_servers(unit_id, [(region, role) for region, role, _ in placed])
    _check_datacenters(servers, regions, f"{key}.replicas")
    no_quorum = checked(f"{key}.no_quorum", NoQuorum, str(spec.get("no_quorum", NoQuorum.WAIT.value)))
    return ScaleUnit(
        id=unit_id, cloud=cloud, geo=geo, capacity=capacity, servers=servers, no_quorum=no_quorum
    )


def _check_datacenters(servers: tuple[Server, ...], regions: Mapping[RegionName, Region], key: str) -> None:
    """The durability rule: a commit waits for any one replica, so that replica must stand in
    another datacenter than the primary, whichever server is primary: one server per datacenter."""
    for server in servers:
        region = regions[server.region]
        placed = sum(1 for s in servers if s.region == region.name)
        if placed > region.datacenters:
            raise TopologyError(
                key,
                f"{placed} servers in {region.name}, which has {region.datacenters} datacenter(s): "
                "a replica sharing the primary's datacenter would let a commit live in one datacenter only",
            )


def _check_region(
    name: str, regions: Mapping[RegionName, Region], cloud: Cloud, geo: object, key: str
) -> None:
    region = regions.get(name)
    if region is None:
        raise TopologyError(key, f"unknown region {name!r}")
    if region.cloud is not cloud or region.geo is not geo:
        raise TopologyError(
            key,
            f"region {name!r} is in {region.cloud.value}/{region.geo.value}, "
            f"outside the scale unit's {cloud.value}/{geo}",
        )


def _name_servers(unit_id: str, placed: list[tuple[RegionName, Role]]) -> tuple[Server, ...]:
    """`eu-1-westeurope` in datacenter `westeurope-1`, and `eu-1-westeurope-2` in `westeurope-2`
    for a second server in the same region."""
    counts: dict[str, int] = {}
    servers = []
    for region, role in placed:
        counts[region] = counts.get(region, 0) + 1
        suffix = "" if counts[region] == 1 else f"-{counts[region]}"
        name = f"{unit_id}-{region}{suffix}"
        datacenter = f"{region}-{counts[region]}"
        servers.append(Server(name=name, scale_unit=unit_id, region=region, datacenter=datacenter, role=role))
    return tuple(servers)


def _parse_countries(raw: Mapping[str, Any]) -> CountryTable:
    if "countries" not in raw:
        return default_country_table()
    return parse_country_table(_table(raw, "countries", required=True))


def _parse_catalogs(
    raw: Mapping[str, Any], units: Mapping[ScaleUnitId, ScaleUnit]
) -> dict[Cloud, ScaleUnitId]:
    catalogs: dict[Cloud, ScaleUnitId] = {}
    for cloud_name, unit_id in raw.items():
        key = f"catalogs.{cloud_name}"
        cloud = checked(key, parse_cloud, cloud_name)
        unit = units.get(str(unit_id))
        if unit is None or unit.cloud is not cloud:
            raise TopologyError(key, f"{unit_id!r} is not a scale unit of cloud {cloud.value}")
        catalogs[cloud] = unit.id
    for unit in units.values():
        catalogs.setdefault(unit.cloud, unit.id)
    return catalogs
