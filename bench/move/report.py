"""The move bench's results: the `move` section of results.json, its goals (the issue's, as
rows of the bench's goals table) and report.md."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.goals import Goal, Verdict
from bench.move.figures import SizeFigures
from bench.report import goal_table

FENCE_P99_MS = 1000.0
NEIGHBOUR_RATIO = 1.5
LARGEST_MOVE_S = 60.0
LARGEST = 100_000
COLUMNS = (
    ("users", "users"),
    ("moves", "moves"),
    ("failed moves", "failed_moves"),
    ("rows", "rows"),
    ("MiB", "mib"),
    ("move s p50", "move_s_p50"),
    ("move s max", "move_s_max"),
    ("copy rows/s", "rows_per_s"),
    ("copy MiB/s", "mib_per_s"),
    ("fence ms p50", "fence_ms_p50"),
    ("fence ms p99", "fence_ms_p99"),
    ("fence ms max", "fence_ms_max"),
    ("mover's fence ms max", "mover_fence_ms_max"),
    ("fence round trips", "fence_round_trips"),
    ("acked writes", "acknowledged_writes"),
    ("lost", "lost_writes"),
    ("reads", "reads"),
    ("failed reads", "failed_reads"),
    ("of which 503", "failed_reads_retry_after"),
    ("failed writes", "failed_writes"),
    ("neighbour's longest write gap ms", "neighbour_fence_ms_max"),
    ("neighbour p99 ms before", "neighbour_p99_before_ms"),
    ("during copy", "neighbour_p99_copy_ms"),
)


def verdicts(sizes: Sequence[SizeFigures]) -> tuple[Verdict, ...]:
    found: list[Verdict] = []
    for s in sizes:
        name = f"move@{s.users}"
        found.append(_fixed("no acknowledged write lost", name, "lost_writes", "<=", 0, s.lost_writes))
        found.append(_fixed("no failed read", name, "failed_reads", "<=", 0, s.failed_reads))
        found.append(
            _fixed(
                "write fence p99 as clients saw it", name, "fence_ms_p99", "<=", FENCE_P99_MS, s.fence_ms_p99
            )
        )
        before, during = s.neighbour_p99_before_ms, s.neighbour_p99_copy_ms
        ratio = during / before if before and during is not None else None
        goal = Goal(
            "neighbour read p99 during the copy", name, "p99_ms", "<=", NEIGHBOUR_RATIO, f"{name} before"
        )
        found.append(Verdict(goal, ratio, during, before))
        if s.users >= LARGEST:
            found.append(
                _fixed("100k users move in < 60 s", name, "move_s_max", "<=", LARGEST_MOVE_S, s.move_s_max)
            )
    return tuple(found)


def _fixed(title: str, system: str, metric: str, op: str, target: float, value: float | None) -> Verdict:
    """None: not measured (no move of the size succeeded), which never passes."""
    shown = None if value is None else float(value)
    return Verdict(Goal(title, system, metric, op, target), shown, shown, None)


def write(
    header: Mapping[str, Any], sizes: Sequence[SizeFigures], extra: Mapping[str, Any], folder: Path
) -> dict[str, Any]:
    """results.json and report.md in `folder`; the `move` section."""
    judged = verdicts(sizes)
    move = {"sizes": [asdict(s) for s in sizes], **extra}
    document = {**header, "move": move, "goals": [v.to_json() for v in judged]}
    (folder / "results.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    head = "| " + " | ".join(title for title, _ in COLUMNS) + " |"
    table = [head, "|" + "---|" * len(COLUMNS)]
    for s in sizes:
        values = asdict(s)
        table.append("| " + " | ".join(_cell(values[key]) for _, key in COLUMNS) + " |")
    lines = [
        f"# Core Store move bench, {header['started_at']}",
        "",
        f"`{header['command']}`",
        "",
        f"Load average (1, 5, 15 min) before the run: {header['load_average']}.",
        "",
        "## Moves",
        "",
        *table,
        "",
        "## Goals",
        "",
        *goal_table(judged),
        "",
        *(f"![{p}]({p})" for p in move.get("plots", [])),
    ]
    (folder / "report.md").write_text("\n".join(lines) + "\n")
    return document


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return "; ".join(value) or "none"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
