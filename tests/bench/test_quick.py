"""`python -m bench --quick` on a fresh cluster: the files it writes are complete and well-formed.

It runs on the session's spare cluster (tests/conftest.py), fresh at this point, rather than on
the session cluster: after the rest of the suite had run there, the raw-write baseline measured
no call at all in its 2-second quick window (three full runs out of three, never when run alone;
the cause is not found yet, see bench/README.md). The output checked here does not depend on that
history. The windows are 1 s (warm-up 1 s): the output's shape is what is checked, not the speed.
The bench's own cluster start and purge are exercised by `bench geo` (tests/bench/test_geo.py).

Speeds are never asserted (the machine is shared and noisy); a run that could not measure a
workload (for instance because the front end can't start) fails here with the harness's reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.sweep import NAME as SWEEP
from bench.sweep import QUICK_SIZES
from bench.workloads import READ_ONLY, WORKLOADS
from scale_units.state import ClusterState

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PERCENTILES = ("p50_us", "p95_us", "p99_us", "p999_us")
RUN_TIMEOUT_S = 280


@pytest.fixture(scope="module")
def quick_run(spare_cluster: ClusterState, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("bench-results")
    where = ("--dir", str(spare_cluster.directory), "--out", str(out))
    command = [sys.executable, "-m", "bench", "--quick", "--duration", "1", *where]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, f"bench failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    return out, done.stdout


@pytest.fixture(scope="module")
def results(quick_run: tuple[Path, str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((quick_run[0] / "results.json").read_text())
    return document


def expected_names() -> list[str]:
    return [n for n in WORKLOADS if n != SWEEP] + [READ_ONLY] + [f"{SWEEP}@{size}" for size in QUICK_SIZES]


def test_every_workload_is_measured_with_percentiles(results: dict[str, Any]) -> None:
    assert results["failures"] == {}
    workloads = results["workloads"]
    assert sorted(workloads) == sorted(expected_names())
    for name, stats in workloads.items():
        assert stats["throughput_per_s"] > 0, (name, stats["outcomes"])
        assert stats["ok"] > 0, name
        values = [stats[p] for p in PERCENTILES]
        assert all(isinstance(v, int) and v > 0 for v in values), (name, values)
        assert values == sorted(values), (name, values)
        assert stats["histogram"], name


def test_read_your_writes_never_missed(results: dict[str, Any]) -> None:
    pair = results["workloads"]["write-read-pair"]
    assert pair["outcomes"].get("stale", 0) == 0, pair["outcomes"]


def test_every_goal_is_judged_against_its_target(results: dict[str, Any]) -> None:
    goals = {(g["system"], g["metric"]): g for g in results["goals"]}
    declared = [goal for w in WORKLOADS.values() for goal in w.goals]
    assert len(goals) == len(declared)
    for goal in declared:
        judged = goals[(goal.system, goal.metric)]
        assert judged["goal"] == {"op": goal.op, "target": goal.target}
        assert judged["baseline"] == goal.baseline
        assert isinstance(judged["value"], float), judged
        assert isinstance(judged["passed"], bool)


def test_machine_facts_and_command_are_recorded(results: dict[str, Any]) -> None:
    machine = results["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["memory_bytes"] > 0
    assert machine["postgres"]["version"].startswith("PostgreSQL")
    assert machine["packages"]["asyncpg"]
    assert "--quick" in results["command"]
    assert results["settings"]["concurrency"] >= 1


def test_report_has_both_tables(quick_run: tuple[Path, str], results: dict[str, Any]) -> None:
    report = (quick_run[0] / "report.md").read_text()
    assert "| workload | baseline | ops/s |" in report
    assert "| goal | measured |" in report
    for name in results["workloads"]:
        assert f"| {name} |" in report
    for goal in results["goals"]:
        assert f"| {goal['title']} |" in report


def test_ratios_are_printed_next_to_their_goals(quick_run: tuple[Path, str], results: dict[str, Any]) -> None:
    stdout = quick_run[1]
    for goal in results["goals"]:
        assert f"{goal['title']}:" in stdout
        assert f"(goal {goal['goal']['op']}" in stdout


def test_plots_are_real_pngs(quick_run: tuple[Path, str], results: dict[str, Any]) -> None:
    plots = results["plots"]
    assert "scale-sweep.png" in plots
    assert any(p.startswith("latency-library-read") for p in plots)
    assert any(p.startswith("latency-http-read") for p in plots)
    assert "frontend-reads-per-server.png" in plots, "drawn from the front ends' /metrics"
    for name in plots:
        data = (quick_run[0] / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE), name
        assert len(data) > 10_000, (name, len(data))
