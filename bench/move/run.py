"""One size of the move bench: two tenants made through the front end, the moving one seeded,
clients at work on both, and the moving tenant moved back and forth between two units.

After each move the writers' journal is checked against the unit the tenant is now on: every
acknowledged write must be there.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
import time
import uuid
from dataclasses import dataclass

import httpx

from bench.http.env import new_tenant
from bench.move.clients import Target, Timeline, read, write
from bench.move.counted import PREFIX as STATEMENT
from bench.move.seed import seed
from corestore.roles import DIRECTORY_DB
from scale_units.model.topology import Topology
from scale_units.model.types import ScaleUnitId
from scale_units.state import ClusterState

SETTLE_S = 1.0  # after a move, before the journal is checked
COUNTRY = "FR"
WRITERS = 2  # on the moving tenant; one on the neighbour
READERS = 2  # per tenant
MOVE_TIMEOUT_S = 600.0
PRESENT = "SELECT count(*) FROM users WHERE tenant_id = $1 AND id = ANY($2::uuid[])"


@dataclass(frozen=True)
class Phase:
    name: str  # one of STEPS
    started: float
    ended: float


@dataclass(frozen=True)
class Moved:
    """What the move command reported (its `--json` line)."""

    source: ScaleUnitId
    target: ScaleUnitId
    rows: int
    bytes: int
    seconds: float
    fence_ms: float  # the mover's own measure, from the fence to the flip


class MoveFailed(Exception):
    """The move command failed (and undid the move); `reason` is its last word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FailedMove:
    reason: str
    acknowledged: int
    lost: int  # checked on the unit the tenant stayed on


@dataclass(frozen=True)
class MoveRecord:
    report: Moved
    launched: float  # the command started (its imports and store are not the move)
    began: float  # its first progress line
    ended: float  # its last (the source cleaned)
    phases: tuple[Phase, ...]
    fence_round_trips: dict[str, int]  # per server: the mover's statements inside the fence
    acknowledged: int  # the moving tenant's acknowledged writes when the journal was checked
    lost: int  # of those, not on the unit the tenant is now on


@dataclass(frozen=True)
class SizeRun:
    users: int
    tenants: tuple[uuid.UUID, uuid.UUID]  # the moving one and the neighbour
    quiet_s: float  # before each move, clients at work and no move: the neighbour's "before"
    started: float  # the clients' start: the timeline's zero
    moves: tuple[MoveRecord, ...]
    failures: tuple[FailedMove, ...]
    timeline: Timeline


@dataclass(frozen=True)
class Plan:
    write_url: str  # writers of both tenants and the neighbour's readers
    read_url: str  # the moving tenant's readers: a front end of another region
    region: str  # the write front end's region, where the mover runs too
    moves: int  # per size, back and forth
    quiet_s: float  # before each move, clients at work and no move: the neighbour's "before"


async def run_size(state: ClusterState, topology: Topology, plan: Plan, users: int) -> SizeRun:
    with httpx.Client(base_url=plan.write_url, timeout=60) as http:
        moving = new_tenant(http, state.credentials.operator, COUNTRY)
        neighbour = new_tenant(http, state.credentials.operator, COUNTRY)
    await seed(state, topology, uuid.UUID(moving.id), ScaleUnitId(moving.scale_unit), users)
    timeline = Timeline()
    targets = {
        role: Target(role, t.token, t.domain) for role, t in (("moving", moving), ("neighbour", neighbour))
    }
    clients = [write(plan.write_url, targets["moving"], timeline, i) for i in range(WRITERS)]
    clients.append(write(plan.write_url, targets["neighbour"], timeline, 0))
    clients += [read(plan.read_url, targets["moving"], timeline) for _ in range(READERS)]
    clients += [read(plan.write_url, targets["neighbour"], timeline) for _ in range(READERS)]
    started = time.monotonic()
    tasks = [asyncio.create_task(c) for c in clients]
    records, failures = [], []
    tenant, unit = uuid.UUID(moving.id), ScaleUnitId(moving.scale_unit)
    try:
        for _ in range(plan.moves):
            await asyncio.sleep(plan.quiet_s)
            try:
                record = await _move(state, topology, plan.region, tenant, unit, timeline)
            except MoveFailed as failed:  # the mover undid it: the tenant stays on its unit
                await asyncio.sleep(SETTLE_S)
                acknowledged, lost = await _check(state, topology, unit, tenant, timeline)
                failures.append(FailedMove(failed.reason, acknowledged, lost))
                continue
            records.append(record)
            unit = record.report.target
        await asyncio.sleep(plan.quiet_s)
    finally:
        timeline.stop.set()
        await asyncio.gather(*tasks)
    return SizeRun(
        users,
        (tenant, uuid.UUID(neighbour.id)),
        plan.quiet_s,
        started,
        tuple(records),
        tuple(failures),
        timeline,
    )


async def _move(
    state: ClusterState,
    topology: Topology,
    region: str,
    tenant: uuid.UUID,
    unit: ScaleUnitId,
    timeline: Timeline,
) -> MoveRecord:
    launched = time.monotonic()
    report, lines = await _command(state, region, tenant, other_unit(topology, unit))
    marks = [(line.split(":")[0], at) for line, at in lines if not line.startswith(STATEMENT)]
    began, ended = marks[0][1], marks[-1][1]
    await asyncio.sleep(SETTLE_S)
    acknowledged, lost = await _check(state, topology, report.target, tenant, timeline)
    spans = phases(marks, began)
    trips = _fence_round_trips(state, lines, next((p for p in spans if p.name == "fence"), None))
    return MoveRecord(report, launched, began, ended, spans, trips, acknowledged, lost)


async def _check(
    state: ClusterState, topology: Topology, unit: ScaleUnitId, tenant: uuid.UUID, timeline: Timeline
) -> tuple[int, int]:
    """The journal so far, and how many of its writes are not on `unit`, where the tenant is."""
    journal = list(timeline.journal.get("moving", []))
    async with state.connect(topology.scale_units[unit].primary, DIRECTORY_DB) as conn:
        present = await conn.fetchval(PRESENT, tenant, [i for i, _ in journal])
    return len(journal), len(journal) - present


async def _command(
    state: ClusterState, region: str, tenant: uuid.UUID, target: ScaleUnitId
) -> tuple[Moved, list[tuple[str, float]]]:
    """`corestore tenant move --json` in a process of its own, as an operator in `region` runs
    it, its statements counted (`bench.move.counted`; the bench's clients keep their event loop
    to themselves): its report, and each line it printed with its arrival time."""
    command = [sys.executable, "-m", "bench.move.counted", region, "tenant", "move", str(tenant)]
    process = await asyncio.create_subprocess_exec(
        *command,
        *("--to", target, "--json", "--dir", str(state.directory)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines: list[tuple[str, float]] = []

    async def follow(stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            lines.append((raw.decode().rstrip(), time.monotonic()))

    _, errors = await asyncio.wait_for(
        asyncio.gather(follow(process.stdout), process.stderr.read()), MOVE_TIMEOUT_S
    )
    if await process.wait() != 0 or not lines:
        said = [line for line in errors.decode().splitlines() if line.strip()]
        raise MoveFailed(said[-1] if said else f"{shlex.join(command)} exited with {process.returncode}")
    answer = json.loads(lines[-1][0])
    moved = Moved(
        ScaleUnitId(answer["from"]),
        ScaleUnitId(answer["to"]),
        answer["rows"],
        answer["bytes"],
        answer["seconds"],
        answer["fence_ms"],
    )
    return moved, lines[:-1]


def _fence_round_trips(
    state: ClusterState, lines: list[tuple[str, float]], fence: Phase | None
) -> dict[str, int]:
    """The round trips of the statements that ended inside the fence, per server."""
    if fence is None:
        return {}
    servers = {f"{s.host}:{s.advertised_port}": name for name, s in state.servers.items()}
    trips: dict[str, int] = {}
    for line, at in lines:
        if line.startswith(STATEMENT) and fence.started <= at <= fence.ended:
            where, count = line.removeprefix(f"{STATEMENT}: ").split()
            name = servers.get(where, where)
            trips[name] = trips.get(name, 0) + int(count)
    return trips


STEPS = ("copy", "catch-up", "verify", "fence", "clean")  # as the mover's progress names them


def phases(marks: list[tuple[str, float]], began: float) -> tuple[Phase, ...]:
    """Spans from the mover's progress lines: each step's line comes when the step is done
    (`verify`: the checkpoint's, before the fence), except the fence's, which comes once the
    fence holds; the fence lasts from the step before it to the flip's line."""
    last = {name: at for name, at in marks}  # the last line of each step
    ends = {**last, "fence": last.get("flip")}
    spans, start = [], began
    for name in STEPS:
        end = ends.get(name)
        if end is None:
            continue
        spans.append(Phase(name, start, end))
        start = end
    return tuple(spans)


def other_unit(topology: Topology, unit: ScaleUnitId) -> ScaleUnitId:
    """Another unit of the same cloud and geo: where the tenant may move."""
    here = topology.scale_units[unit]
    for candidate in topology.scale_units.values():
        if candidate.id != unit and (candidate.cloud, candidate.geo) == (here.cloud, here.geo):
            return candidate.id
    raise SystemExit(f"the cluster has no other scale unit in {here.geo.value} to move to")
