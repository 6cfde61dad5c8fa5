"""Residency audit: every copy of tenant data the cluster holds, judged by the component table.

It connects to every server of every cloud as the superuser (the only role that
sees past row-level security) and reads the state directory's key rings, then holds
each copy to the topology's component-location table (`scale_units.model.residency`):
directory objects and sign-in logs by tenant, catalog entries by tenant, the WAL by
who streams it, signing keys by cloud, front ends' log files by the tenants they
name. Anything not allowed there is a finding.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from corestore.catalog_schema import CatalogBase
from corestore.roles import CATALOG_DB, DIRECTORY_DB
from corestore.schema import Base, SignInRow
from corestore.types import Placement
from scale_units.model.geography import Cloud, Geo
from scale_units.model.residency import Component, Model, Place
from scale_units.model.topology import ScaleUnit, Server, Topology
from scale_units.registry import LOG_DIR, log_region
from scale_units.state import ClusterState

AUDIT_CONNECT_TIMEOUT_S = 3.0
UUID_TEXT = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
KEYS_DIR = "keys"
COMPONENT_OF_TABLE = {t.name: Component.DIRECTORY_OBJECTS for t in Base.metadata.sorted_tables} | {
    SignInRow.__tablename__: Component.SIGN_IN_LOGS
}
CATALOG_TABLES = tuple(t.name for t in CatalogBase.metadata.sorted_tables if "tenant_id" in t.c)


@dataclass(frozen=True)
class Holding:
    """A copy of some data: a tenant's rows on a server, a unit's WAL, a cloud's keys."""

    component: Component
    tenant_id: uuid.UUID | None  # None: data of a whole unit or cloud
    where: str  # a server, or a file of the state directory
    cloud: str
    geo: str | None
    scale_unit: str | None
    region: str | None
    what: str  # tables, a replication consumer, a key id
    rows: int


@dataclass(frozen=True)
class Finding:
    # unknown-tenant | outside-cloud | outside-geo | wrong-scale-unit | outside-catalog-unit | undeclared-copy
    kind: str
    holding: Holding
    home: Placement | None


@dataclass(frozen=True)
class Audit:
    holdings: tuple[Holding, ...]
    findings: tuple[Finding, ...]
    unreachable: tuple[str, ...]
    homes: Mapping[uuid.UUID, Placement]  # every tenant the catalogs know, where it belongs

    def of(self, tenant_id: uuid.UUID) -> tuple[Holding, ...]:
        return tuple(h for h in self.holdings if h.tenant_id == tenant_id)


async def run_audit(state: ClusterState, topology: Topology) -> Audit:
    homes = await _homes(state, topology)
    scans = await asyncio.gather(*(_scan(state, topology, s) for s in topology.servers()))
    holdings = [h for scan in scans if scan is not None for h in scan]
    holdings += _key_rings(state.directory / KEYS_DIR, topology)
    holdings += _front_end_logs(state.directory / LOG_DIR, topology, homes)
    unreachable = tuple(s.name for s, scan in zip(topology.servers(), scans, strict=True) if scan is None)
    findings = [f for h in holdings if h.tenant_id is not None and (f := _judge(h, homes, topology))]
    findings += _undeclared(holdings, topology)
    return Audit(tuple(holdings), tuple(findings), unreachable, homes)


def _judge(holding: Holding, homes: dict[uuid.UUID, Placement], topology: Topology) -> Finding | None:
    home = homes.get(holding.tenant_id) if holding.tenant_id else None
    if home is None:
        return Finding("unknown-tenant", holding, None)
    rule = topology.residency.rule(Model.of(home.cloud, home.geo), holding.component)
    if holding.cloud != home.cloud.value:
        return Finding("outside-cloud", holding, home)
    allowed = {
        Place.SCALE_UNIT: holding.scale_unit == home.scale_unit,
        Place.GEO: holding.geo == home.geo.value,
        Place.CATALOG_UNIT: holding.scale_unit == topology.catalogs.get(home.cloud),
        Place.CLOUD: True,
    }
    if allowed[rule.stored]:
        return None
    if rule.stored is not Place.CATALOG_UNIT and holding.geo != home.geo.value:
        return Finding("outside-geo", holding, home)
    kind = "outside-catalog-unit" if rule.stored is Place.CATALOG_UNIT else "wrong-scale-unit"
    return Finding(kind, holding, home)


def _undeclared(holdings: Iterable[Holding], topology: Topology) -> list[Finding]:
    """Unit- and cloud-wide copies: a WAL consumer outside its unit, a key in two clouds' rings."""
    findings = [
        Finding("undeclared-copy", h, None)
        for h in holdings
        if h.component is Component.WAL and h.what not in _members(topology.scale_units[h.scale_unit or ""])
    ]
    clouds_of: dict[str, set[str]] = {}
    for h in holdings:
        if h.component is Component.SIGNING_KEYS:
            clouds_of.setdefault(h.what, set()).add(h.cloud)
    known = {c.value for c in topology.clouds()}
    findings += [
        Finding("undeclared-copy", h, None)
        for h in holdings
        if h.component is Component.SIGNING_KEYS and (len(clouds_of[h.what]) > 1 or h.cloud not in known)
    ]
    return findings


def _members(unit: ScaleUnit) -> set[str]:
    """The names a unit's own WAL consumers go by (slot names cannot hold '-')."""
    return {n for s in unit.servers for n in (s.name, s.name.replace("-", "_"))}


async def _homes(state: ClusterState, topology: Topology) -> dict[uuid.UUID, Placement]:
    homes: dict[uuid.UUID, Placement] = {}
    for cloud in topology.clouds():
        primary = topology.catalog_unit(cloud).primary
        async with state.connect(primary, CATALOG_DB) as conn:
            for row in await conn.fetch("SELECT tenant_id, cloud, geo, scale_unit FROM tenants"):
                homes[row["tenant_id"]] = Placement(Cloud(row["cloud"]), Geo(row["geo"]), row["scale_unit"])
    return homes


async def _scan(state: ClusterState, topology: Topology, server: Server) -> list[Holding] | None:
    """Everything one server holds, or None if it cannot be reached."""
    unit = topology.scale_units[server.scale_unit]
    try:
        directory = await _counts(state, server, DIRECTORY_DB, COMPONENT_OF_TABLE)
        catalog = await _counts(state, server, CATALOG_DB, dict.fromkeys(CATALOG_TABLES, Component.CATALOG))
        wal = await _wal_consumers(state, server)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None

    def held(component: Component, tenant: uuid.UUID | None, what: str, rows: int) -> Holding:
        region = server.region
        return Holding(
            component, tenant, server.name, unit.cloud.value, unit.geo.value, unit.id, region, what, rows
        )

    moves = {c: _moving(c) for c in wal}
    return (
        [held(c, t, what, n) for (c, t), (what, n) in sorted((directory | catalog).items(), key=str)]
        + [held(Component.WAL, None, c, 0) for c, tenant in moves.items() if tenant is None]
        + [held(Component.TENANT_MOVES, t, f"replication slot {c}", 0) for c, t in moves.items() if t]
    )


def _moving(consumer: str) -> uuid.UUID | None:
    """The tenant whose move streams through this slot or sender (`move_<tenant hex>`), if one does."""
    prefix, _, tenant = consumer.partition("_")
    if prefix != "move" or len(tenant) != 32:
        return None
    try:
        return uuid.UUID(hex=tenant)
    except ValueError:
        return None


async def _counts(
    state: ClusterState, server: Server, database: str, components: dict[str, Component]
) -> dict[tuple[Component, uuid.UUID], tuple[str, int]]:
    """Rows per (component, tenant) in `database`, with the tables they are in; none if it does not exist."""
    found: dict[tuple[Component, uuid.UUID], tuple[str, int]] = {}
    try:
        async with state.connect(server, database, timeout=AUDIT_CONNECT_TIMEOUT_S) as conn:
            present = {
                r["relname"] for r in await conn.fetch("SELECT relname FROM pg_class WHERE relkind = 'r'")
            }
            for table, component in components.items():
                if table not in present:
                    continue
                sql = f"SELECT tenant_id, count(*) AS n FROM {table} GROUP BY tenant_id"  # noqa: S608 - our tables
                for row in await conn.fetch(sql):
                    tables, rows = found.get((component, row["tenant_id"]), ("", 0))
                    joined = f"{tables}, {table}" if tables else table
                    found[(component, row["tenant_id"])] = (joined, rows + row["n"])
    except asyncpg.InvalidCatalogNameError:
        return {}
    return found


async def _wal_consumers(state: ClusterState, server: Server) -> set[str]:
    """Who receives this server's WAL: its replication slots and its connected standbys."""
    async with state.connect(server) as conn:
        slots = await conn.fetch("SELECT slot_name AS name FROM pg_replication_slots")
        standbys = await conn.fetch("SELECT application_name AS name FROM pg_stat_replication")
    return {r["name"] for r in [*slots, *standbys] if r["name"]}


def _front_end_logs(
    directory: Path, topology: Topology, homes: Mapping[uuid.UUID, Placement]
) -> list[Holding]:
    """Tenants named in front ends' log files, each file in its front end's region."""
    holdings: list[Holding] = []
    for path in sorted(directory.glob("*.log")) if directory.is_dir() else []:
        region = topology.regions.get(log_region(path))
        named: dict[uuid.UUID, int] = {}
        with path.open(errors="replace") as log:
            for line in log:
                for match in UUID_TEXT.findall(line):
                    if (tenant := uuid.UUID(match)) in homes:
                        named[tenant] = named.get(tenant, 0) + 1
        cloud, geo = (region.cloud.value, region.geo.value) if region else ("unknown", None)
        where = f"{LOG_DIR}/{path.name}"
        holdings += [
            Holding(Component.FRONT_END, t, where, cloud, geo, None, log_region(path), "log lines", n)
            for t, n in named.items()
        ]
    return holdings


def _key_rings(directory: Path, topology: Topology) -> list[Holding]:
    """Each key of each cloud's ring file, as the cloud it is stored for."""
    holdings: list[Holding] = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            keys = json.loads(path.read_text())["keys"]
        except (OSError, ValueError, KeyError, TypeError):
            keys = [{"kid": f"unreadable:{path.name}"}]
        for key in keys:
            where = f"{KEYS_DIR}/{path.name}"
            holdings.append(
                Holding(Component.SIGNING_KEYS, None, where, path.stem, None, None, None, str(key["kid"]), 1)
            )
    return holdings
