"""`python -m bench [WORKLOAD ...] [--duration S] [--concurrency N] [--quick] [--dir DIR] [--out FOLDER]`;
`python -m bench geo ...` is the geo bench (bench/geo.py), `python -m bench move ...` the move bench
(bench/move/)."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import RESULTS
from bench.context import Settings
from bench.run import run_bench
from bench.seed import remove_tagged
from bench.workloads import WORKLOADS
from scale_units.interrupt import terminate_as_interrupt
from scale_units.state import STATE_FILE, ClusterState, default_state_dir

DEFAULT_DURATION_S = 10.0
QUICK_DURATION_S = 2.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench", description="The hot path against raw baselines, one run."
    )
    p.add_argument(
        "workloads", nargs="*", metavar="WORKLOAD", help=f"any of: {', '.join(WORKLOADS)} (default: all)"
    )
    p.add_argument(
        "--duration",
        type=float,
        help=f"measured seconds per workload (default {DEFAULT_DURATION_S:g}, "
        f"--quick {QUICK_DURATION_S:g}); warm-up is 20%%, at least 1 s",
    )
    p.add_argument("--concurrency", type=int, default=16, help="concurrent tasks, split over the processes")
    p.add_argument("--processes", type=int, default=2, help="load generator processes")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every workload this many times, interleaved "
        "(system and baseline alternate), and merge the rounds",
    )
    p.add_argument("--quick", action="store_true", help="a few seconds per workload and a small sweep")
    p.add_argument("--region", help="the caller's region (default westeurope if the topology has it)")
    p.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="a running cluster's state directory (default $CORESTORE_HOME); else one is started",
    )
    p.add_argument("--out", type=Path, help="results folder (default bench/results/<timestamp>)")
    p.add_argument(
        "--clean", action="store_true", help="only remove every `bench-` tenant from the cluster in --dir"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    terminate_as_interrupt()  # a `kill` stops the clusters and front ends this run started
    if argv[:1] == ["geo"]:
        from bench.geo.main import main as geo_main

        return geo_main(argv[1:])
    if argv[:1] == ["move"]:
        from bench.move.main import main as move_main

        return move_main(argv[1:])
    p = parser()
    args = p.parse_args(argv)
    directory: Path = args.dir or default_state_dir()
    if args.clean:
        return _clean(directory)
    unknown = [n for n in args.workloads if n not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s): {', '.join(unknown)}")
    if min(args.concurrency, args.processes, args.rounds) < 1:
        p.error("--concurrency, --processes and --rounds must be at least 1")
    duration = args.duration or (QUICK_DURATION_S if args.quick else DEFAULT_DURATION_S)
    settings = Settings(duration, args.concurrency, args.processes, args.quick, args.region, args.rounds)
    folder = args.out or RESULTS / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    command = shlex.join([Path(sys.executable).name, "-m", "bench", *argv])
    return run_bench(args.workloads or list(WORKLOADS), settings, directory, folder, command)


def _clean(directory: Path) -> int:
    if not (directory / STATE_FILE).exists():
        print(f"no cluster at {directory}", file=sys.stderr)
        return 1
    state = ClusterState.load(directory)
    removed = asyncio.run(remove_tagged(state, state.discover()))
    print(f"removed {removed:,} bench- tenants from {directory}")
    return 0
