"""Residency audit: which tenants have rows on each server, and whether they belong there.

Connects to every server of every cloud as the superuser (the only role that sees
past row-level security) and compares with every cloud's catalog.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import asyncpg
from sqlalchemy import func, select

from corestore.schema import Base
from corestore.sql import compile_statement
from corestore.types import Placement
from scale_units.geography import Cloud, Geo
from scale_units.state import CATALOG_DB, DIRECTORY_DB, ClusterState
from scale_units.topology import Server, Topology


@dataclass(frozen=True)
class Holding:
    """Rows of one tenant on one server."""

    tenant_id: uuid.UUID
    server: str
    scale_unit: str
    region: str
    cloud: str
    geo: str
    rows: int


@dataclass(frozen=True)
class Finding:
    kind: str  # outside-cloud | outside-geo | wrong-scale-unit | unknown-tenant
    holding: Holding
    home: Placement | None


@dataclass(frozen=True)
class Audit:
    holdings: tuple[Holding, ...]
    findings: tuple[Finding, ...]
    unreachable: tuple[str, ...]

    def of(self, tenant_id: uuid.UUID) -> tuple[Holding, ...]:
        return tuple(h for h in self.holdings if h.tenant_id == tenant_id)


async def run_audit(state: ClusterState) -> Audit:
    topology = state.topology
    homes = await _catalogs(state, topology)
    scans = await asyncio.gather(*(_scan(state, topology, s) for s in topology.servers()))
    holdings = tuple(h for scan in scans if scan is not None for h in scan)
    unreachable = tuple(s.name for s, scan in zip(topology.servers(), scans, strict=True) if scan is None)
    findings = tuple(f for h in holdings if (f := _judge(h, homes.get(h.tenant_id))) is not None)
    return Audit(holdings, findings, unreachable)


def _judge(holding: Holding, home: Placement | None) -> Finding | None:
    if home is None:
        return Finding("unknown-tenant", holding, None)
    if home.cloud != holding.cloud:
        return Finding("outside-cloud", holding, home)
    if home.geo != holding.geo:
        return Finding("outside-geo", holding, home)
    if home.scale_unit != holding.scale_unit:
        return Finding("wrong-scale-unit", holding, home)
    return None


async def _catalogs(state: ClusterState, topology: Topology) -> dict[uuid.UUID, Placement]:
    homes: dict[uuid.UUID, Placement] = {}
    for cloud in topology.clouds():
        primary = topology.catalog_unit(cloud).primary
        conn = await asyncpg.connect(state.dsn(primary, "superuser", CATALOG_DB))
        try:
            for row in await conn.fetch("SELECT tenant_id, cloud, geo, scale_unit FROM tenants"):
                homes[row["tenant_id"]] = Placement(Cloud(row["cloud"]), Geo(row["geo"]), row["scale_unit"])
        finally:
            await conn.close()
    return homes


async def _scan(state: ClusterState, topology: Topology, server: Server) -> list[Holding] | None:
    try:
        conn = await asyncpg.connect(state.dsn(server, "superuser", DIRECTORY_DB), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    unit = topology.scale_units[server.scale_unit]
    counts: dict[uuid.UUID, int] = {}
    try:
        for table in Base.metadata.sorted_tables:
            query = compile_statement(
                select(table.c.tenant_id, func.count().label("n")).group_by(table.c.tenant_id)
            )
            for row in await conn.fetch(query.sql):
                counts[row["tenant_id"]] = counts.get(row["tenant_id"], 0) + row["n"]
    finally:
        await conn.close()
    return [
        Holding(tid, server.name, unit.id, server.region, unit.cloud.value, unit.geo.value, n)
        for tid, n in sorted(counts.items())
    ]
