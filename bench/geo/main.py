"""`python -m bench geo [--quick] [--samples N] [--out FOLDER]`: geography's cost on a WAN cluster.

It starts its own cluster of the shipped `geo` topology (every cross-region connection
through the WAN proxies), measures reads from every region on every server, quorum
against asynchronous commits, read-your-writes and the cross-geo redirect, and checks
the reads and the quorum waits against the configured latencies (bench/geo_report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import RESULTS
from bench.cluster import cluster
from bench.geo.measure import Figure, Subject, commits, read_your_writes, reads, subjects
from bench.geo.redirect import redirect_figures
from bench.geo.report import GeoResults, write
from bench.machine import machine_facts
from devtools.process import front_ends
from scale_units.model.loader import default_topology_path
from scale_units.model.topology import Topology
from scale_units.state import ClusterState
from scale_units.wan import cluster as wan_cluster

# The disk's cost is not geography's: without fsync a quorum commit waits for the link's
# round trip alone, not also for the replica's flush, so its figure is the WAN's.
SETTINGS = {"fsync": "off", "full_page_writes": "off"}
QUICK_SAMPLES = 7
SAMPLES = 31


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench geo", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SAMPLES} samples per figure (under 2 minutes)"
    )
    p.add_argument("--samples", type=int, help=f"samples per figure (default {SAMPLES})")
    p.add_argument("--out", type=Path, help="results folder (default bench/results/geo-<timestamp>)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    samples = args.samples or (QUICK_SAMPLES if args.quick else SAMPLES)
    if samples < 1:
        parser().error("--samples must be at least 1")
    started = datetime.now(UTC)
    folder = args.out or RESULTS / f"geo-{started.strftime('%Y%m%dT%H%M%SZ')}"
    with cluster(None, default_topology_path("geo"), SETTINGS) as c:
        results = measure(c.state, c.topology, samples)
        machine = machine_facts(c.state, c.topology)
    header = {
        "command": shlex.join([Path(sys.executable).name, "-m", "bench", "geo", *argv]),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {"samples": samples, "quick": args.quick, "postgres": SETTINGS},
        "machine": machine,
    }
    geo = write(results, header, folder)
    for check in geo["checks"]:
        verdict = "PASS" if check["pass"] else "FAIL"
        print(f"{verdict}  {check['what']}: {check['measured_ms']} ms (configured {check['expected_ms']} ms)")
    print(f"results: {folder}")
    return 0 if geo["passed"] else 1


def measure(state: ClusterState, topology: Topology, samples: int) -> GeoResults:
    made = asyncio.run(subjects(state, topology))
    library = asyncio.run(_library(state, topology, made, samples))
    # The redirect: a client in the first unit's primary region asks for the other geo's tenant.
    home, away = made[0], next(s for s in made if s.unit.geo is not made[0].unit.geo)
    regions = [home.unit.primary.region, away.unit.primary.region]
    with front_ends(state.directory, regions, tls=False) as (near, far):
        redirect = asyncio.run(redirect_figures(topology, near, far, away, samples))
    stats = wan_cluster.stats(state)
    return GeoResults(
        latency_ms=wan_cluster.round_trips(topology),
        reads=library[0],
        commits=library[1],
        read_your_writes=library[2],
        redirect=redirect,
        wan=stats.to_json() if stats else None,
    )


async def _library(
    state: ClusterState, topology: Topology, made: list[Subject], samples: int
) -> tuple[dict[str, dict[str, list[Figure]]], dict[str, dict[str, Figure]], dict[str, dict[str, Figure]]]:
    by_region = {
        region: {s.unit.id: await reads(state, topology, s, region, samples) for s in made}
        for region in topology.regions
    }
    quorum = {s.unit.id: await commits(state, topology, s, samples) for s in made}
    ryw = {s.unit.id: await read_your_writes(state, topology, s, samples) for s in made}
    return by_region, quorum, ryw
