"""`python -m bench move [--quick] [--moves N] [--dir DIR] [--out FOLDER]`: a tenant's move under
load, per size.

It starts its own cluster of the shipped `two_units` topology (or uses the running one in
--dir, which needs two scale units of one geo), and a front end in each of the geo's regions.
Per size it makes a moving tenant and a neighbour through the API, seeds the moving one by
SQL, and moves it back and forth between the two units while HTTP writers and readers work on
both; every acknowledged write is checked on the tenant's unit after each move.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import RESULTS
from bench.cluster import cluster
from bench.http.env import UNTHROTTLED
from bench.machine import machine_facts
from bench.move import report
from bench.move.figures import size_figures
from bench.move.plot import timeline_plot
from bench.move.run import Plan, SizeRun, run_size
from bench.seed import delete_tenants
from devtools.process import front_ends
from scale_units.model.loader import default_topology_path
from scale_units.model.topology import Topology
from scale_units.state import ClusterState
from scale_units.wan import cluster as wan_cluster

SETTINGS = {"fsync": "off", "full_page_writes": "off"}
SIZES = (1_000, 10_000, 100_000)
MOVES = 4  # A->B->A->B->A
QUICK_SIZES = (200,)
QUICK_MOVES = 1
QUIET_S = 2.0  # before each move: clients at work, no move (the neighbour's "before")
QUICK_QUIET_S = 1.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench move", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"one tenant of {QUICK_SIZES[0]} users, {QUICK_MOVES} move (for a test)",
    )
    p.add_argument(
        "--wan",
        action="store_true",
        help="over the simulated WAN (scale_units/topologies/two_units_wan.toml)",
    )
    p.add_argument(
        "--sizes", type=_sizes, help="users per moving tenant, comma-separated (default 1000,10000,100000)"
    )
    p.add_argument("--moves", type=int, help=f"moves per size, back and forth (default {MOVES})")
    p.add_argument("--dir", type=Path, help="a running cluster's state directory (default: start one)")
    p.add_argument("--out", type=Path, help="results folder (default bench/results/move-<timestamp>)")
    return p


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(n) for n in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError("every size must be at least 1 user")
    return sizes


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    moves = args.moves or (QUICK_MOVES if args.quick else MOVES)
    if moves < 1:
        parser().error("--moves must be at least 1")
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    quiet_s = QUICK_QUIET_S if args.quick else QUIET_S
    started = datetime.now(UTC)
    load_average = [round(x, 2) for x in os.getloadavg()]
    folder = args.out or RESULTS / f"move-{started.strftime('%Y%m%dT%H%M%SZ')}"
    topology = default_topology_path("two_units_wan" if args.wan else "two_units")
    with cluster(args.dir, topology, SETTINGS) as c:
        regions = _regions(c.topology)
        with front_ends(c.state.directory, regions, UNTHROTTLED, tls=False) as (near, far):
            plan = Plan(near.url, far.url, regions[0], moves, quiet_s)
            runs = asyncio.run(_measure(c.state, c.topology, plan, sizes, keep=c.owned))
        machine = machine_facts(c.state, c.topology)
        wan = wan_cluster.stats(c.state)
        latency_ms = wan_cluster.round_trips(c.topology) if c.topology.wan.enabled else None
    folder.mkdir(parents=True, exist_ok=True)
    figures = [size_figures(r) for r in runs]
    header = {
        "command": shlex.join([Path(sys.executable).name, "-m", "bench", "move", *argv]),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": load_average,
        "settings": {
            "sizes": list(sizes),
            "moves": moves,
            "quiet_s": quiet_s,
            "regions": regions,
            "postgres": SETTINGS,
        },
        "machine": machine,
    }
    extra = {
        "plots": [timeline_plot(runs, folder)],
        "wan": {"latency_ms": latency_ms, "proxies": wan.to_json()} if wan and latency_ms else None,
    }
    report.write(header, figures, extra, folder)
    for f in figures:
        print(asdict(f))
    for verdict in report.verdicts(figures):
        print(verdict.describe())
    print(f"results in {folder}")
    return 0 if all(f.lost_writes == 0 and f.failed_reads == 0 for f in figures) else 1


def _regions(topology: Topology) -> list[str]:
    """The first unit's primary region and one of its replicas' (writers near the primary)."""
    unit = next(iter(topology.scale_units.values()))
    replica = next(s.region for s in unit.servers if s.region != unit.primary.region)
    return [str(unit.primary.region), str(replica)]


async def _measure(
    state: ClusterState, topology: Topology, plan: Plan, sizes: tuple[int, ...], keep: bool
) -> list[SizeRun]:
    """Each size in turn; on a cluster of --dir, its two tenants are deleted after it (ours
    is purged anyway)."""
    runs = []
    for users in sizes:
        runs.append(await run_size(state, topology, plan, users))
        if not keep:
            await delete_tenants(state, topology, list(runs[-1].tenants))
    return runs
