"""What each server of a running cluster is doing: alive, role, replay lag, and its part in the quorum.

A primary's SYNC says whether its commits are safe now: `quorum` (a replica in another
datacenter confirms each commit), `WAITING` (no quorum member alive: commits wait, the
`no_quorum = "wait"` policy) or `DEGRADED` (no quorum member alive: commits are
acknowledged unconfirmed, the `no_quorum = "degrade"` policy).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from scale_units.leaders import MemberView, leader, member_views
from scale_units.model.topology import Server
from scale_units.model.types import lsn_position
from scale_units.state import ClusterState

STATUS_CONNECT_TIMEOUT_S = 2.0


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
    sync: str  # primary: quorum, WAITING or DEGRADED; replica: quorum or async; "-" when unknown


async def cluster_status(state: ClusterState) -> list[ServerStatus]:
    views = await member_views(state.apis)
    topology = state.planned_topology
    servers = topology.servers()
    probes = await asyncio.gather(*(_probe(state, s) for s in servers))
    by_name = {s.name: p for s, p in zip(servers, probes, strict=True)}
    statuses = []
    for unit in topology.scale_units.values():
        head = leader(unit, views)
        primary_lsn = by_name[head.name][1] if head else None
        for server in unit.servers:
            alive, lsn, in_recovery, standby_names = by_name[server.name]
            role = "replica" if in_recovery else "primary" if alive else "-"
            is_leader = head is not None and head.name == server.name
            lag = 0 if is_leader else _lag(primary_lsn, lsn) if alive else None
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
                    sync=_sync(server, head, standby_names) if alive else "-",
                )
            )
    return statuses


def _sync(server: Server, head: MemberView | None, standby_names: str) -> str:
    if head is None:
        return "-"
    if head.name != server.name:
        return "quorum" if server.name in head.quorum else "async"
    if head.quorum:
        return "quorum"
    return "WAITING" if standby_names else "DEGRADED"


async def _probe(state: ClusterState, server: Server) -> tuple[bool, str | None, bool, str]:
    try:
        async with state.connect(server, timeout=STATUS_CONNECT_TIMEOUT_S) as conn:
            row = await conn.fetchrow(
                "SELECT pg_is_in_recovery() AS r, CASE WHEN pg_is_in_recovery() "
                "THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text AS lsn, "
                "current_setting('synchronous_standby_names') AS standby_names"
            )
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False, None, False, ""
    assert row is not None
    return True, row["lsn"], bool(row["r"]), str(row["standby_names"])


def _lag(primary_lsn: str | None, lsn: str | None) -> int | None:
    if primary_lsn is None or lsn is None:
        return None
    return max(0, lsn_position(primary_lsn) - lsn_position(lsn))
