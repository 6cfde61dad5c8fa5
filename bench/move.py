"""`python -m bench move [--quick] [--out FOLDER]`: a tenant's move under load, per size.

It starts its own cluster of the shipped `two_units` topology, seeds a tenant of each
size (users, a group per hundred users, a membership per user) by SQL, and moves it
while a writer and a reader of the library work on it and a reader on a neighbour
tenant of the same units. Per size: the move's time, copy throughput, the fence (the
mover's and the writer's longest gap between acknowledged writes), failed reads and
acknowledged writes missing on the target (goals: 0), and the neighbour's read p99
during the move against before it. Library clients, not HTTP; no timeline plot, no --wan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from bench import RESULTS
from bench.cluster import cluster
from corestore.session import TenantSession
from corestore.store import CoreStore
from scale_units.model.loader import default_topology_path
from scale_units.state import DIRECTORY_DB, ClusterState

SETTINGS = {"fsync": "off", "full_page_writes": "off"}
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)
SEED = """INSERT INTO users (tenant_id, id, display_name, version, user_principal_name, account_enabled,
admin, extension) SELECT $1, gen_random_uuid(), 'bench-u' || i, 1, 'u' || i || '@bench.example', true, false,
'{}'::jsonb FROM generate_series(1, $2) i"""
SEED_GROUPS = """INSERT INTO groups (tenant_id, id, display_name, version, kind, mail_nickname)
SELECT $1, gen_random_uuid(), 'bench-g' || i, 1, 'security', 'g' || i FROM generate_series(1, $2) i"""
SEED_MEMBERS = """INSERT INTO memberships (tenant_id, group_id, member_id, member_user_id)
SELECT $1, g.id, u.id, u.id FROM (SELECT id, row_number() OVER () AS r FROM users WHERE tenant_id = $1) u
JOIN (SELECT id, row_number() OVER () - 1 AS r FROM groups WHERE tenant_id = $1) g ON g.r = u.r % $2"""


@dataclass
class Load:
    """What the clients saw: acknowledged writes (id, when), failed reads, read latencies."""

    acknowledged: list[tuple[uuid.UUID, float]] = field(default_factory=list)
    failed_reads: int = 0
    failed_writes: int = 0
    neighbour_ms: list[tuple[float, float]] = field(default_factory=list)  # (when, ms)
    stop: bool = False


@dataclass(frozen=True)
class SizeResult:
    users: int
    rows: int
    mib: float
    move_s: float
    rows_per_s: float
    mib_per_s: float
    fence_ms: float
    longest_write_gap_ms: float
    acknowledged_writes: int
    lost_writes: int
    failed_reads: int
    failed_writes: int
    neighbour_p99_before_ms: float
    neighbour_p99_during_ms: float


async def _write(session: TenantSession, load: Load) -> None:
    n = 0
    while not load.stop:
        n += 1
        try:
            user = await session.users.create(
                user_principal_name=f"w{n}@bench.example", display_name="bench-w"
            )
            load.acknowledged.append((user.id, time.monotonic()))
        except Exception:
            load.failed_writes += 1


async def _read(session: TenantSession, load: Load, neighbour: bool) -> None:
    while not load.stop:
        started = time.monotonic()
        try:
            await session.users.list(top=5)
        except Exception:
            load.failed_reads += 1
            continue
        if neighbour:
            load.neighbour_ms.append((started, (time.monotonic() - started) * 1000))
        await asyncio.sleep(0.002)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else float("nan")


async def _one(state: ClusterState, store: CoreStore, users: int) -> SizeResult:
    tenant = await store.operator.create_tenant(f"bench-move-{users}", "FR")
    neighbour = await store.operator.create_tenant(f"bench-neighbour-{users}", "FR")
    unit = store.topology.scale_units[tenant.placement.scale_unit]
    async with state.connect(unit.primary, DIRECTORY_DB) as conn:
        await conn.execute(SEED, tenant.id.value, users)
        await conn.execute(SEED_GROUPS, tenant.id.value, max(1, users // 100))
        await conn.execute(SEED_MEMBERS, tenant.id.value, max(1, users // 100))
    load = Load()
    session = await store.operator.session(tenant.id)
    clients = [
        asyncio.create_task(_write(session, load)),
        asyncio.create_task(_read(await store.operator.session(tenant.id), load, False)),
        asyncio.create_task(_read(await store.operator.session(neighbour.id), load, True)),
    ]
    await asyncio.sleep(2.0)
    began = time.monotonic()
    target = next(u for u in store.topology.scale_units if u != unit.id)
    report = await store.operator.move_tenant(tenant.id, target)
    ended = time.monotonic()
    await asyncio.sleep(1.0)
    load.stop = True
    await asyncio.gather(*clients)
    async with state.connect(store.topology.scale_units[target].primary, DIRECTORY_DB) as conn:
        rows = await conn.fetch("SELECT id FROM users WHERE tenant_id = $1", tenant.id.value)
    stored = {r["id"] for r in rows}
    times = [t for _, t in load.acknowledged]
    before = [ms for t, ms in load.neighbour_ms if t < began]
    during = [ms for t, ms in load.neighbour_ms if began <= t <= ended]
    mib = report.bytes / 2**20
    return SizeResult(
        users,
        report.rows,
        round(mib, 1),
        round(report.seconds, 2),
        round(report.rows / report.seconds),
        round(mib / report.seconds, 2),
        round(report.fence_ms, 1),
        round(max((b - a for a, b in pairwise(times)), default=0.0) * 1000, 1),
        len(load.acknowledged),
        sum(1 for i, _ in load.acknowledged if i not in stored),
        load.failed_reads,
        load.failed_writes,
        round(_p99(before), 2),
        round(_p99(during), 2),
    )


async def measure(state: ClusterState, sizes: tuple[int, ...]) -> list[SizeResult]:
    store = CoreStore(state, state.discover(), region="westeurope")
    try:
        return [await _one(state, store, users) for users in sizes]
    finally:
        await store.close()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench move", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help=f"one tenant of {QUICK_SIZES[0]} users")
    p.add_argument("--out", type=Path, help="results folder (default bench/results/move-<timestamp>)")
    args = p.parse_args(argv)
    started = datetime.now(UTC)
    folder = args.out or RESULTS / f"move-{started.strftime('%Y%m%dT%H%M%SZ')}"
    with cluster(None, default_topology_path("two_units"), SETTINGS) as c:
        results = asyncio.run(measure(c.state, QUICK_SIZES if args.quick else SIZES))
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "command": shlex.join([Path(sys.executable).name, "-m", "bench", "move", *argv]),
        "started_at": started.isoformat(timespec="seconds"),
        "move": [asdict(r) for r in results],
    }
    (folder / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    for r in results:
        print(json.dumps(asdict(r)))
    print(f"results in {folder}")
    return 0 if all(r.lost_writes == 0 and r.failed_reads == 0 for r in results) else 1
