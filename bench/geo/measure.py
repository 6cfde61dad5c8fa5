"""What the geo bench measures on a WAN cluster, through the library as a front end uses it.

Reads are `users.get` (one round trip): from each region, on each server of each
geo's unit (the others marked down for that store, so routing itself is forced
there), and on the server routing picks. Commits are one-row updates timed as a
whole write (BEGIN, the update, COMMIT, the commit position), the same with
`SET LOCAL synchronous_commit = local`, so the difference is the quorum's wait.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.model.topology import ScaleUnit, Topology
from scale_units.routing import HealthBook, distance_ms
from scale_units.state import ClusterState

PASSWORD = "Geo-bench-passw0rd!"
TOUCH_SQL = "UPDATE users SET display_name = display_name WHERE tenant_id = $1 AND id = $2"
FOREVER_S = 3600.0


@dataclass(frozen=True)
class Subject:
    """A tenant of one scale unit and its one user."""

    unit: ScaleUnit
    tenant: Tenant
    user_id: uuid.UUID


@dataclass(frozen=True)
class Figure:
    """A median in ms, what the topology's latencies say it should be, and where it was measured."""

    label: str
    measured_ms: float
    expected_ms: float | None
    server: str

    def to_json(self) -> dict[str, object]:
        return {
            "measured_ms": round(self.measured_ms, 2),
            "expected_ms": self.expected_ms,
            "server": self.server,
        }


async def median_ms(action: Callable[[], Awaitable[object]], samples: int) -> float:
    """One untimed call (connections are made there), then the median of `samples` calls."""
    await action()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def rtt(topology: Topology, a: str, b: str) -> float:
    regions = topology.regions
    return distance_ms(regions[a], regions[b])


async def subjects(state: ClusterState, topology: Topology) -> list[Subject]:
    """One tenant per scale unit (a country of its geo), made from its primary's region."""
    made = []
    for unit in topology.scale_units.values():
        table = topology.countries.geos[unit.cloud]
        country = min(code for code, geo in table.items() if geo is unit.geo)
        store = CoreStore(state, topology, region=unit.primary.region)
        try:
            name = f"bench-geo-{uuid.uuid4().hex[:8]}"
            tenant = await store.operator.create_tenant(name, country, domains=())
            session = await store.operator.session(tenant.id)
            user = await session.users.create(
                user_principal_name=f"geo@{name}.example", display_name="Geo", password=PASSWORD
            )
            made.append(Subject(unit, tenant, user.id))
        finally:
            await store.close()
    return made


async def reads(
    state: ClusterState, topology: Topology, subject: Subject, region: str, samples: int
) -> list[Figure]:
    """From `region`: the read routing chooses, then one forced onto each server of the unit."""
    figures = []
    store = CoreStore(state, topology, region=region)
    try:
        session = await store.operator.session(subject.tenant.id)
        routed = await median_ms(lambda: session.users.get(subject.user_id), samples)
        server = session.last_server or "-"
        home = topology.server(server).region if server != "-" else region
        figures.append(Figure("routed", routed, rtt(topology, region, home), server))
        for target in subject.unit.servers:
            store.router.health = HealthBook(base_backoff_s=FOREVER_S, max_backoff_s=FOREVER_S)
            for other in subject.unit.servers:
                if other.name != target.name:
                    store.router.health.mark_down(other.name)
            measured = await median_ms(lambda: session.users.get(subject.user_id), samples)
            assert session.last_server == target.name, (session.last_server, target.name)
            figures.append(Figure(target.name, measured, rtt(topology, region, target.region), target.name))
    finally:
        await store.close()
    return figures


async def commits(
    state: ClusterState, topology: Topology, subject: Subject, samples: int
) -> dict[str, Figure]:
    """From the primary's region: quorum commits against asynchronous ones, in the same unit."""
    primary = subject.unit.primary
    store = CoreStore(state, topology, region=primary.region)
    try:
        session = await store.operator.session(subject.tenant.id)

        async def touch(synchronous: bool) -> None:
            async with session.write() as conn:
                if not synchronous:
                    await conn.execute("SET LOCAL synchronous_commit = local")
                await conn.execute(TOUCH_SQL, session.tenant_id, subject.user_id)

        quorum = await median_ms(lambda: touch(True), samples)
        local = await median_ms(lambda: touch(False), samples)
    finally:
        await store.close()
    nearest = min(rtt(topology, primary.region, r.region) for r in subject.unit.replicas)
    return {
        "quorum": Figure("quorum", quorum, None, primary.name),
        "async": Figure("async", local, None, primary.name),
        "quorum_wait": Figure("quorum - async", quorum - local, nearest, primary.name),
    }


async def read_your_writes(
    state: ClusterState, topology: Topology, subject: Subject, samples: int
) -> dict[str, Figure]:
    """From a replica's region: a read right after this session's own write (it waits, bounded,
    for the replica to replay it), against the same read with nothing to wait for."""
    replica = subject.unit.replicas[0]
    store = CoreStore(state, topology, region=replica.region)
    try:
        reader = await store.operator.session(subject.tenant.id)  # no write of its own to wait for
        plain = await median_ms(lambda: reader.users.get(subject.user_id), samples)
        session = await store.operator.session(subject.tenant.id)
        waits, servers = [], set()
        for _ in range(samples + 1):
            async with session.write() as conn:
                await conn.execute(TOUCH_SQL, session.tenant_id, subject.user_id)
            started = time.perf_counter()
            await session.users.get(subject.user_id)
            waits.append((time.perf_counter() - started) * 1000)
            servers.add(session.last_server or "-")
    finally:
        await store.close()
    return {
        "plain_read": Figure("plain read", plain, None, replica.name),
        "after_write": Figure(
            "read after own write", statistics.median(waits[1:]), None, ",".join(sorted(servers))
        ),
    }
