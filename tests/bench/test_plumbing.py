"""The harness's own parts: load split, histograms, goals, and one real load through the HTTP client."""

from __future__ import annotations

import asyncio
import uuid

from bench.db.libenv import library_row
from bench.db.rows import nearest_server
from bench.generator import Load, Run, run_load
from bench.goals import Goal
from bench.histogram import Latency, merge, new_histogram, record_ns
from bench.http.load import GetRow
from bench.measured import Measured
from bench.servers import asgi_baseline
from corestore.roles import dsn
from scale_units.progress import Progress
from scale_units.state import ClusterState


def test_tasks_split_over_processes_add_up() -> None:
    assert Load(3, 16, 1.0, 2.0).split() == [6, 5, 5]
    assert sum(Load(2, 1, 1.0, 2.0).split()) == 1


def test_histograms_merge_across_processes() -> None:
    encoded = []
    for micros in (100, 200):
        histogram = new_histogram()
        for _ in range(10):
            record_ns(histogram, micros * 1000)
        encoded.append(histogram.encode())
    latency = Latency.of(merge(encoded))
    assert latency.count == 20
    assert 99 <= latency.p50_us <= 101
    assert 199 <= latency.p99_us <= 201


def measured(name: str, throughput: float, p99_us: int = 1000, tenants: int | None = None) -> Measured:
    histogram = new_histogram()
    record_ns(histogram, p99_us * 1000)
    run = Run(Latency.of(histogram), int(throughput * 2), {}, 2.0, Load(1, 1, 1.0, 2.0))
    return Measured(name, name.partition("@")[0], run, tenants)


def test_goals_compare_ratios_and_sweep_ends() -> None:
    results = {
        m.name: m
        for m in [
            measured("sys", 90),
            measured("base", 100),
            measured("zero", 0),
            measured("sweep@10", 1, 1000, 10),
            measured("sweep@1000", 1, 1300, 1000),
        ]
    }
    assert Goal("t", "sys", "throughput", ">=", 0.85, "base").judge(results).passed
    assert not Goal("t", "sys", "throughput", ">=", 0.85, "zero").judge(results).passed
    assert Goal("t", "sys", "throughput", ">=", 0.85, "missing").judge(results).value is None
    sweep = Goal("t", "sweep@largest", "p99_us", "<=", 1.25, "sweep@smallest").judge(results)
    assert sweep.value is not None
    assert 1.29 < sweep.value < 1.31
    assert not sweep.passed


def test_http_client_loads_the_asgi_baseline_and_checks_answers(cluster: ClusterState) -> None:
    row = asyncio.run(library_row(cluster, cluster.discover(), "westeurope"))
    replica = dsn(cluster, nearest_server(cluster.discover(), "westeurope", row.scale_unit), "app")
    load = Load(processes=1, tasks=4, warmup_s=0.2, measure_s=0.5)
    progress = Progress(2 * load.planned_s, terminal=False)
    with asgi_baseline(replica, row, pool_size=4) as (url, pid):
        right = run_load(GetRow(url, row.user_id, ("token",)), load, "right row", progress, (pid,))
        wrong = run_load(GetRow(url, uuid.uuid4(), ("token",)), load, "wrong row", progress)
    assert right.ok > 0
    assert right.outcomes == {}
    assert right.server_cpu_s is not None
    assert 0 < right.server_cpu_s <= 2 * load.measure_s, "the server's CPU in the window, at most 2 cores"
    assert wrong.ok == 0
    assert set(wrong.outcomes) == {"http 200"}


def test_rounds_join_into_one_window() -> None:
    first, second = measured("x", 100, 1000), measured("x", 50, 3000)
    joined = first.joined(second)
    assert joined.run.ok == first.run.ok + second.run.ok
    assert joined.run.measure_s == 4.0
    assert joined.run.latency.count == 2
    assert joined.run.latency.max_us >= 2990
