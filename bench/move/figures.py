"""A size's figures, from its moves and its clients' timeline.

The fence as clients saw it is, per move, the longest gap between two consecutive acknowledged
writes of the moving tenant (any writer) that overlaps the move; its percentiles run over the
moves of the size (with a handful of moves, p99 is close to the max). Copy throughput is the
rows and bytes the mover verified over the copy step (from the move's start to the last table
copied). The neighbour's read p99 during the copy is over the reads started in the copy steps;
before it, over the reads started in the quiet seconds before each move's command started.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from bench.move.clients import Call
from bench.move.run import SETTLE_S, MoveRecord, SizeRun

MIB = 2**20


@dataclass(frozen=True)
class SizeFigures:
    """None where no move of the size succeeded."""

    users: int
    moves: int  # that succeeded
    failed_moves: list[str]  # each failed move's reason (the mover undid it)
    rows: int | None
    mib: float | None
    move_s_p50: float | None
    move_s_max: float | None
    copy_s_p50: float | None
    rows_per_s: float | None
    mib_per_s: float | None
    fence_ms_p50: float | None  # as the writers saw it
    fence_ms_p99: float | None
    fence_ms_max: float | None
    mover_fence_ms_max: float | None  # the mover's own measure, fence to flip
    fence_round_trips: int | None  # the mover's, inside the fence (the most of any move)
    fence_round_trips_by_server: dict[str, int]  # of that move
    acknowledged_writes: int
    lost_writes: int
    reads: int
    failed_reads: int
    failed_reads_retry_after: int  # of the failed reads, 503s with Retry-After
    failed_writes: dict[str, int]  # per tenant and answer ("moving 503"; "0": no answer in time)
    neighbour_fence_ms_max: float  # the neighbour's longest gap between acknowledged writes
    neighbour_p99_before_ms: float | None  # None: no read to measure
    neighbour_p99_copy_ms: float | None


def size_figures(run: SizeRun) -> SizeFigures:
    moves = run.moves
    calls = run.timeline.calls
    acks = sorted(t for _, t in run.timeline.journal.get("moving", []))
    others = sorted(t for _, t in run.timeline.journal.get("neighbour", []))
    fences = [_longest_gap(acks, m) * 1000 for m in moves]
    copies = [_copy_s(m) for m in moves]
    reads = [c for c in calls if c.kind == "read"]
    failed = [c for c in reads if not c.ok]
    neighbour = [c for c in reads if c.tenant == "neighbour" and c.ok]
    before = [c for c in neighbour if any(m.launched - run.quiet_s <= c.started < m.launched for m in moves)]
    during = [c for c in neighbour if any(_in_copy(c, m) for m in moves)]
    rows = [m.report.rows for m in moves]
    size = [m.report.bytes for m in moves]
    most = max((m.fence_round_trips for m in moves), key=lambda t: sum(t.values()), default={})
    return SizeFigures(
        users=run.users,
        moves=len(moves),
        failed_moves=[f.reason for f in run.failures],
        rows=_int(_stat(rows, 50)),
        mib=_round(_stat([b / MIB for b in size], 50), 1),
        move_s_p50=_round(_stat([m.report.seconds for m in moves], 50), 2),
        move_s_max=_round(_stat([m.report.seconds for m in moves], 100), 2),
        copy_s_p50=_round(_stat(copies, 50), 2),
        rows_per_s=_round(_stat([r / c for r, c in zip(rows, copies, strict=True)], 50), 0),
        mib_per_s=_round(_stat([b / MIB / c for b, c in zip(size, copies, strict=True)], 50), 2),
        fence_ms_p50=_round(_stat(fences, 50), 1),
        fence_ms_p99=_round(_stat(fences, 99), 1),
        fence_ms_max=_round(_stat(fences, 100), 1),
        mover_fence_ms_max=_round(_stat([m.report.fence_ms for m in moves], 100), 1),
        fence_round_trips=sum(most.values()) if moves else None,
        fence_round_trips_by_server=dict(sorted(most.items())),
        acknowledged_writes=len(acks),
        lost_writes=sum(m.lost for m in moves) + sum(f.lost for f in run.failures),
        reads=len(reads),
        failed_reads=len(failed),
        failed_reads_retry_after=sum(1 for c in failed if c.retry_after),
        failed_writes=dict(
            Counter(f"{c.tenant} {c.status}" for c in calls if c.kind == "write" and not c.ok)
        ),
        neighbour_fence_ms_max=round(max((b - a for a, b in pairwise(others)), default=0.0) * 1000, 1),
        neighbour_p99_before_ms=_p99_ms(before),
        neighbour_p99_copy_ms=_p99_ms(during),
    )


def _stat(values: list[float] | list[int], percentile: float) -> float | None:
    return float(np.percentile(values, percentile)) if values else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)


def _longest_gap(acks: list[float], move: MoveRecord) -> float:
    """The longest gap between consecutive acknowledgements that overlaps the move; a move
    after which no write was acknowledged counts until the journal's check."""
    gaps = [b - a for a, b in pairwise(acks) if b > move.began and a < move.ended]
    after = [a for a in acks if a >= move.ended]
    if not after:
        last = max((a for a in acks if a < move.ended), default=move.began)
        gaps.append(move.ended + SETTLE_S - last)
    return max(gaps, default=0.0)


def _copy_s(move: MoveRecord) -> float:
    copy = next(p for p in move.phases if p.name == "copy")
    return max(copy.ended - copy.started, 1e-3)


def _in_copy(call: Call, move: MoveRecord) -> bool:
    copy = next(p for p in move.phases if p.name == "copy")
    return copy.started <= call.started < copy.ended


def _p99_ms(calls: list[Call]) -> float | None:
    return _round(_stat([(c.ended - c.started) * 1000 for c in calls], 99), 2)
