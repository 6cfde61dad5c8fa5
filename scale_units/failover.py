"""Primary failure: promote the most advanced replica, repoint the others, rejoin the old primary.

Replication is synchronous to a quorum of replicas in other regions than the
primary's (`ANY 1 (...)`), so every acknowledged write is on at least one of
them, and the most advanced one is promoted.
"""

from __future__ import annotations

import asyncio
import shutil
import time

import asyncpg

from scale_units.errors import ClusterError
from scale_units.launcher import process, set_quorum
from scale_units.state import ClusterState
from scale_units.topology import Role, ScaleUnit, Server

CATCH_UP_TIMEOUT_S = 30.0


async def failover(state: ClusterState, unit_id: str, force: bool = False) -> ClusterState:
    """Promote the most advanced replica of `unit_id`; the state file then names it primary."""
    unit = state.topology.scale_units.get(unit_id)
    if unit is None:
        raise ClusterError(f"no scale unit {unit_id!r}")
    old = unit.primary
    if process(state, old.name).pid() is not None:
        if not force:
            raise ClusterError(f"primary {old.name} is still running; stop it first or use --force")
        await asyncio.to_thread(process(state, old.name).stop)
    new = await _most_advanced(state, unit)
    conn = await asyncpg.connect(state.dsn(new, "superuser", "postgres"))
    try:
        await conn.execute("SELECT pg_promote(true, 60)")
        for replica in unit.replicas:
            if replica is not new:
                await _create_slot(conn, process(state, replica.name).slot)
    finally:
        await conn.close()
    promoted = state.with_roles({new.name: Role.PRIMARY, old.name: Role.REPLICA})
    available = set()
    for replica in unit.replicas:
        if replica is not new and await _repoint(promoted, replica.name, new.name):
            available.add(replica.name)
    await set_quorum(
        promoted, promoted.topology.scale_units[unit_id], promoted.topology.server(new.name), available
    )
    promoted.save()
    return promoted


async def _most_advanced(state: ClusterState, unit: ScaleUnit) -> Server:
    """The reachable replica that has received the most WAL, once it has replayed all of it."""
    positions: list[tuple[int, Server]] = []
    for replica in unit.replicas:
        try:
            conn = await asyncpg.connect(state.dsn(replica, "superuser", "postgres"), timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            continue
        try:
            received = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint")
            positions.append((int(received or 0), replica))
        finally:
            await conn.close()
    if not positions:
        raise ClusterError(f"no replica of {unit.id} is reachable to promote")
    received, best = max(positions, key=lambda p: (p[0], p[1].name))
    await _wait_replayed(state, best, received)
    return best


async def _wait_replayed(state: ClusterState, server: Server, lsn: int) -> None:
    conn = await asyncpg.connect(state.dsn(server, "superuser", "postgres"))
    try:
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        while await conn.fetchval("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint") < lsn:
            if time.monotonic() > deadline:
                raise ClusterError(f"{server.name} did not replay its received WAL in time")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def _repoint(state: ClusterState, replica: str, primary: str) -> bool:
    """Follow the new primary (a reload suffices since PostgreSQL 13); False if it is not running."""
    server = process(state, replica)
    server.follow(state.servers[primary].port, state.credentials.replication)
    if server.pid() is None:
        return False
    conn = await asyncpg.connect(state.dsn(replica, "superuser", "postgres"))
    try:
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    return True


def rejoin(state: ClusterState, name: str) -> None:
    """Bring a stopped former primary back as a replica: pg_rewind, else a fresh base backup."""
    server = process(state, name)
    if server.pid() is not None:
        raise ClusterError(f"{name} is running; stop it before it rejoins")
    unit = state.topology.scale_units[state.topology.server(name).scale_unit]
    primary = process(state, unit.primary.name)
    source = (
        f"host=127.0.0.1 port={primary.port} user=postgres dbname=postgres "
        f"password={state.credentials.superuser}"
    )
    try:
        server.rewind(source)
        server.follow(primary.port, state.credentials.replication)
    except ClusterError:
        shutil.rmtree(server.datadir)
        server.clone_from(primary, state.credentials.replication)
    asyncio.run(_ensure_slot(state, unit.primary.name, server.slot))
    server.start()
    asyncio.run(set_quorum(state, unit, unit.primary))


async def _ensure_slot(state: ClusterState, primary: str, slot: str) -> None:
    conn = await asyncpg.connect(state.dsn(primary, "superuser", "postgres"))
    try:
        await _create_slot(conn, slot)
    finally:
        await conn.close()


async def _create_slot(conn: asyncpg.Connection, slot: str) -> None:
    """A physical slot for a replica, unless it exists: the primary keeps its WAL meanwhile."""
    await conn.execute(
        "SELECT pg_create_physical_replication_slot($1) WHERE NOT EXISTS "
        "(SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
        slot,
    )
