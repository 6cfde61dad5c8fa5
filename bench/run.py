"""One bench run: the cluster, each selected workload in table order, then goals, plots and reports."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cluster import Cluster, cluster
from bench.context import Context, Settings
from bench.goals import Verdict
from bench.machine import machine_facts
from bench.measured import Measured
from bench.plots import all_plots
from bench.report import Outcome, write_json, write_markdown
from bench.roundtrips import count_round_trips
from bench.workloads import WORKLOADS, Workload
from scale_units.progress import Progress


def frontend_problem() -> str | None:
    """Why the front end can't run here, if it can't (HTTP workloads need it)."""
    try:
        import auth_service.frontend  # noqa: F401
    except Exception as exc:
        return (
            f"the front end is not importable ({type(exc).__name__}: {exc}); HTTP workloads need auth_service"
        )
    return None


def run_bench(names: list[str], settings: Settings, directory: Path, folder: Path, command: str) -> int:
    started = datetime.now(UTC)
    selected = [WORKLOADS[n] for n in WORKLOADS if n in names]
    with cluster(directory) as c, contextlib.ExitStack() as stack:
        runs = sum(w.planned_runs(settings.quick, settings.rounds) for w in selected)
        progress = Progress(runs * (settings.warmup_s + settings.duration_s))
        ctx = Context(c.state, c.topology, settings, progress, stack)
        try:
            results, failures = _run_all(ctx, selected)
        finally:
            progress.note("stopping servers")
            stack.close()
            progress.close()
        header = _header(command, started, ctx, c, machine_facts(c.state, c.topology))
        header["round_trips"] = asyncio.run(
            count_round_trips(c.state, c.topology, ctx.region, ctx.library_row)
        ).to_json()
        notes = _notes(c, ctx)
        scraped = list(ctx.scraped)
    verdicts = tuple(g.judge(results) for w in selected for g in w.goals)
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(w.name, w.baseline) for w in selected if w.baseline]
    plots = tuple(all_plots(results, pairs, folder, scraped))
    summaries = {w.name: (w.summary, w.baseline) for w in WORKLOADS.values()}
    outcome = Outcome(header, results, summaries, verdicts, failures, notes, plots)
    write_json(outcome, folder)
    write_markdown(outcome, folder)
    _print_summary(verdicts, failures, notes, folder)
    return 1 if failures else 0


def _run_all(ctx: Context, selected: list[Workload]) -> tuple[dict[str, Measured], dict[str, str]]:
    results: dict[str, Measured] = {}
    failures: dict[str, str] = {}
    problem = frontend_problem()
    for number in range(ctx.settings.rounds):
        for workload in selected:
            if workload.name in failures or (number and not workload.repeated):
                continue
            if workload.needs_frontend and problem:
                failures[workload.name] = problem
                continue
            try:
                for measured in workload.run(ctx):
                    ctx.progress.measured(measured.name, measured.run.throughput, measured.run.latency.p99_us)
                    known = results.get(measured.name)
                    results[measured.name] = known.joined(measured) if known else measured
            except Exception as exc:
                traceback.print_exc(file=sys.stderr)
                failures[workload.name] = f"{type(exc).__name__}: {exc}"
    return results, failures


def _header(
    command: str, started: datetime, ctx: Context, c: Cluster, machine: dict[str, Any]
) -> dict[str, Any]:
    settings = ctx.settings
    return {
        "command": command,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "duration_s": settings.duration_s,
            "warmup_s": settings.warmup_s,
            "concurrency": settings.concurrency,
            "processes": settings.processes,
            "quick": settings.quick,
            "rounds": settings.rounds,
            "region": ctx.region,
        },
        "cluster": {"directory": str(c.state.directory), "started_by_bench": c.owned},
        "machine": machine,
    }


def _notes(c: Cluster, ctx: Context) -> tuple[str, ...]:
    notes = []
    if ctx.seeded_tenants:
        notes.append(
            "before each sweep size the harness vacuums, checkpoints and waits until every replica has "
            "replayed the seed, so no size is measured while its data still replicates or checkpoints"
        )
    if c.owned:
        return (
            *notes,
            f"the harness started its own cluster in {c.state.directory}; it was stopped and purged, "
            "seeded data with it",
        )
    notes.append(
        f"ran on the running cluster in {c.state.directory}; the `bench-` tenants it made there are kept"
    )
    if ctx.seeded_tenants:
        notes.append(
            f"seeded data kept there: {ctx.seeded_tenants:,} tenants x 10 users (display names "
            f"`bench-seed-...`); `python -m bench --clean --dir {c.state.directory}` removes every "
            "`bench-` tenant"
        )
    return tuple(notes)


def _print_summary(
    verdicts: tuple[Verdict, ...], failures: dict[str, str], notes: tuple[str, ...], folder: Path
) -> None:
    for verdict in verdicts:
        print(verdict.describe())
    for name, message in failures.items():
        print(f"FAILED  {name}: {message}")
    for note in notes:
        print(f"note: {note}")
    print(f"results: {folder}")
