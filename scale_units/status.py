"""What each server of a running cluster is doing: alive, role, replay lag."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from scale_units.state import ClusterState
from scale_units.topology import Server
from scale_units.types import lsn_position

CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ServerStatus:
    name: str
    scale_unit: str
    cloud: str
    geo: str
    region: str
    role: str
    port: int
    alive: bool
    lag_bytes: int | None
    lsn: str | None


async def cluster_status(state: ClusterState) -> list[ServerStatus]:
    topology = state.topology
    servers = topology.servers()
    probes = await asyncio.gather(*(_probe(state, s) for s in servers))
    by_name = {s.name: p for s, p in zip(servers, probes, strict=True)}
    statuses = []
    for unit in topology.scale_units.values():
        primary_lsn = by_name[unit.primary.name][1]
        for server in unit.servers:
            alive, lsn, in_recovery = by_name[server.name]
            role = "replica" if in_recovery else server.role.value
            lag = _lag(primary_lsn, lsn) if server is not unit.primary and alive else None
            if server is unit.primary:
                lag = 0 if alive else None
            statuses.append(
                ServerStatus(
                    name=server.name,
                    scale_unit=unit.id,
                    cloud=unit.cloud.value,
                    geo=unit.geo.value,
                    region=server.region,
                    role=role,
                    port=server.address.port if server.address else 0,
                    alive=alive,
                    lag_bytes=lag,
                    lsn=lsn,
                )
            )
    return statuses


async def _probe(state: ClusterState, server: Server) -> tuple[bool, str | None, bool]:
    try:
        conn = await asyncpg.connect(state.dsn(server, "superuser", "postgres"), timeout=CONNECT_TIMEOUT_S)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False, None, False
    try:
        row = await conn.fetchrow(
            "SELECT pg_is_in_recovery() AS r, CASE WHEN pg_is_in_recovery() "
            "THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text AS lsn"
        )
    finally:
        await conn.close()
    assert row is not None
    return True, row["lsn"], bool(row["r"])


def _lag(primary_lsn: str | None, lsn: str | None) -> int | None:
    if primary_lsn is None or lsn is None:
        return None
    return max(0, lsn_position(primary_lsn) - lsn_position(lsn))
