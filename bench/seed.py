"""Bulk-load tenants and users for the scale sweep: the rows the API would write, by COPY.

Creating 100,000 tenants through the API takes hours; COPY as the superuser (row-level
security is forced for the app role, the superuser bypasses it) takes seconds. Ids are
derived from the tenant's index, so any process can pick a seeded (tenant, user) pair
without being sent a list. Every display name starts with `bench-`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from bench.db.rows import Row
from corestore.roles import CATALOG_DB, DIRECTORY_DB
from scale_units.model.geography import Cloud, Geo
from scale_units.model.topology import Server, Topology
from scale_units.model.types import ScaleUnitId
from scale_units.progress import Report, quiet
from scale_units.state import ClusterState

TAG = "bench-"
SEED_TAG = "bench-seed-"
USERS_PER_TENANT = 10
CHUNK = 20_000
NAMESPACE = uuid.UUID("6f0c1b2e-54a4-4f59-9b1e-3f1c0de5eed0")
REPLAY_TIMEOUT_S = 300.0
USER_COLUMNS = (
    "tenant_id",
    "id",
    "display_name",
    "version",
    "created_at",
    "updated_at",
    "user_principal_name",
    "mail",
    "account_enabled",
    "admin",
    "password_hash",
    "extension",
)


def tenant_id(index: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"tenant-{index}")


def user_id(index: int, number: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"user-{index}-{number}")


def seed_units(topology: Topology) -> tuple[ScaleUnitId, ...]:
    return tuple(sorted(topology.scale_units))


@dataclass(frozen=True)
class SeededRows:
    """A random user of a random seeded tenant, among the first `tenants`."""

    tenants: int
    units: tuple[ScaleUnitId, ...]

    def pick(self, rng: random.Random) -> Row:
        index = rng.randrange(self.tenants)
        unit = self.units[index % len(self.units)]
        return Row(tenant_id(index), unit, user_id(index, rng.randrange(USERS_PER_TENANT)))


def country_for(topology: Topology, cloud: Cloud, geo: Geo) -> str:
    """A country the topology places in `geo`: seeded tenants get one, as the API requires."""
    for code, mapped in sorted(topology.countries.geos.get(cloud, {}).items()):
        if mapped is geo:
            return code
    raise ValueError(f"no country of cloud {cloud.value} maps to geo {geo.value}")


async def ensure(state: ClusterState, topology: Topology, tenants: int, report: Report = quiet) -> int:
    """Exactly `tenants` seeded tenants (adding or removing the difference), settled; how many changed."""
    existing = await seeded_count(state, topology)
    if existing < tenants:
        for start in range(existing, tenants, CHUNK):
            end = min(tenants, start + CHUNK)
            report(f"seeding tenants {start:,}-{end:,} of {tenants:,} x {USERS_PER_TENANT} users")
            await _add(state, topology, range(start, end))
    elif existing > tenants:
        report(f"seeding: removing {existing - tenants:,} tenants")
        await delete_tenants(state, topology, [tenant_id(i) for i in range(tenants, existing)])
    report("seeding: vacuum, checkpoint, replicas replaying")
    await settle(state, topology)
    return abs(tenants - existing)


async def seeded_count(state: ClusterState, topology: Topology) -> int:
    total = 0
    for cloud in topology.clouds():
        async with state.connect(topology.catalog_unit(cloud).primary, CATALOG_DB) as conn:
            total += await conn.fetchval("SELECT count(*) FROM domains WHERE name LIKE $1", SEED_TAG + "%")
    return total


async def _add(state: ClusterState, topology: Topology, indexes: range) -> None:
    units = seed_units(topology)
    now = datetime.now(UTC)
    for position, unit_id in enumerate(units):
        unit = topology.scale_units[unit_id]
        mine = [i for i in indexes if i % len(units) == position]
        country = country_for(topology, unit.cloud, unit.geo)
        async with state.connect(unit.primary, DIRECTORY_DB) as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM tenants WHERE tenant_id = ANY($1::uuid[])", [tenant_id(i) for i in mine]
            )
            await conn.copy_records_to_table(
                "tenants",
                records=[(tenant_id(i), f"{SEED_TAG}{i}", country, now) for i in mine],
                columns=("tenant_id", "display_name", "country", "created_at"),
            )
            await conn.copy_records_to_table("users", records=_users(mine, now), columns=USER_COLUMNS)
        await _register(
            state, topology.catalog_unit(unit.cloud).primary, unit.cloud, unit.geo, unit_id, mine, now
        )


def _users(indexes: Iterable[int], now: datetime) -> list[tuple[object, ...]]:
    return [
        (
            tenant_id(i),
            user_id(i, n),
            f"{SEED_TAG}{i}-{n}",
            1,
            now,
            now,
            f"user{n}@{SEED_TAG}{i}.example",
            None,
            True,
            False,
            None,
            "{}",
        )
        for i in indexes
        for n in range(USERS_PER_TENANT)
    ]


async def _register(
    state: ClusterState,
    catalog: Server,
    cloud: Cloud,
    geo: Geo,
    unit: ScaleUnitId,
    indexes: list[int],
    now: datetime,
) -> None:
    """The catalog rows placement would write, `active` once the tenant's own rows exist."""
    async with (
        state.connect(catalog, CATALOG_DB) as conn,
        conn.transaction(),
    ):
        await conn.execute(
            "DELETE FROM tenants WHERE tenant_id = ANY($1::uuid[])", [tenant_id(i) for i in indexes]
        )
        await conn.copy_records_to_table(
            "tenants",
            records=[(tenant_id(i), cloud.value, geo.value, unit, "active", now) for i in indexes],
            columns=("tenant_id", "cloud", "geo", "scale_unit", "state", "created_at"),
        )
        await conn.copy_records_to_table(
            "domains",
            records=[(f"{SEED_TAG}{i}.example", tenant_id(i)) for i in indexes],
            columns=("name", "tenant_id"),
        )
        await _recount(conn)


async def _recount(conn: asyncpg.Connection) -> None:
    """Each slot's tenant count is its number of catalog tenants (locked in id order, as placement does)."""
    await conn.execute("SELECT id FROM scale_units ORDER BY id FOR UPDATE")
    await conn.execute(
        "UPDATE scale_units s SET tenant_count = (SELECT count(*) FROM tenants t WHERE t.scale_unit = s.id)"
    )


async def delete_tenants(state: ClusterState, topology: Topology, ids: list[uuid.UUID]) -> None:
    """Tenants and every row they own, in their scale units and in the catalog."""
    for unit in topology.scale_units.values():
        async with state.connect(unit.primary, DIRECTORY_DB) as conn:
            await conn.execute("DELETE FROM tenants WHERE tenant_id = ANY($1::uuid[])", ids)
    for cloud in topology.clouds():
        async with (
            state.connect(topology.catalog_unit(cloud).primary, CATALOG_DB) as conn,
            conn.transaction(),
        ):
            await conn.execute("DELETE FROM tenants WHERE tenant_id = ANY($1::uuid[])", ids)
            await _recount(conn)


async def remove_tagged(state: ClusterState, topology: Topology) -> int:
    """Every tenant this harness made (seeded or through the API): display names start with `bench-`."""
    ids: list[uuid.UUID] = []
    for unit in topology.scale_units.values():
        async with state.connect(unit.primary, DIRECTORY_DB) as conn:
            rows = await conn.fetch("SELECT tenant_id FROM tenants WHERE display_name LIKE $1", TAG + "%")
        ids += [r["tenant_id"] for r in rows]
    await delete_tenants(state, topology, ids)
    await settle(state, topology)
    return len(ids)


async def settle(state: ClusterState, topology: Topology) -> None:
    """The same quiet start for every sweep size, whatever ran before (bulk loads, other workloads'
    writes): vacuum and analyse (so autovacuum doesn't run mid-measurement), checkpoint, then wait
    until every replica has replayed it all (reads go to replicas)."""
    for unit in topology.scale_units.values():
        await _vacuum(state, unit.primary, DIRECTORY_DB)
    for cloud in topology.clouds():
        await _vacuum(state, topology.catalog_unit(cloud).primary, CATALOG_DB)
    await wait_replayed(state, topology)


async def _vacuum(state: ClusterState, server: Server, database: str) -> None:
    """Every table of the database (the other workloads' writes leave work for autovacuum too)."""
    async with state.connect(server, database) as conn:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")


async def wait_replayed(state: ClusterState, topology: Topology) -> None:
    deadline = time.monotonic() + REPLAY_TIMEOUT_S
    for unit in topology.scale_units.values():
        async with state.connect(unit.primary) as primary:
            lsn = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
        for replica in unit.replicas:
            async with state.connect(replica) as conn:
                while not await conn.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{replica.name} has not replayed the seed after {REPLAY_TIMEOUT_S:.0f}s"
                        )
                    await asyncio.sleep(0.1)
