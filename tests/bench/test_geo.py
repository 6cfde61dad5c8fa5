"""`python -m bench geo --quick`: it starts its own WAN cluster, writes its `geo` section, table and
heat map, and reports whether its reads and quorum waits match the configured latencies within
20%. That verdict is a figure of the bench's report (and its exit status), not this test's: on a
busy machine it may say FAIL; the test checks that every check is there with its figures, so 3
samples per figure (a median still) do instead of `--quick`'s 7."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scale_units.model.loader import default_topology_path, load_topology

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def geo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("geo-results")
    command = [sys.executable, "-m", "bench", "geo", "--quick", "--samples", "3", "--out", str(out)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)  # as Ctrl-C: the bench stops and purges its cluster
        stdout, stderr = process.communicate(timeout=60)
        pytest.fail(f"bench geo --quick took over {RUN_TIMEOUT_S}s:\n{stdout}\n{stderr[-4000:]}")
    results = out / "results.json"
    assert results.exists(), f"bench geo failed ({process.returncode}):\n{stdout}\n{stderr[-4000:]}"
    geo: dict[str, Any] = json.loads(results.read_text())["geo"]
    assert process.returncode == (0 if geo["passed"] else 1), "its exit status is its report's verdict"
    return out, geo


@pytest.mark.slow
def test_every_region_reads_every_unit_and_every_latency_check_has_its_figures(
    geo_run: tuple[Path, dict[str, Any]],
) -> None:
    _, geo = geo_run
    topology = load_topology(default_topology_path("geo"))
    assert sorted(geo["reads"]) == sorted(topology.regions)
    for units in geo["reads"].values():
        assert sorted(units) == sorted(topology.scale_units)
        for unit, figures in units.items():
            servers = {s.name for s in topology.scale_units[unit].servers}
            assert set(figures) == {"routed", *servers}, "the routed read and one forced onto each server"
    assert sorted(geo["commits"]) == sorted(topology.scale_units)
    assert sorted(geo["read_your_writes"]) == sorted(topology.scale_units)
    assert geo["checks"], "reads and quorum waits checked against the configured latencies"
    for check in geo["checks"]:
        assert check["measured_ms"] >= 0, check
        assert check["expected_ms"] >= 0, check
        assert isinstance(check["pass"], bool), check
    assert geo["passed"] == all(c["pass"] for c in geo["checks"])


@pytest.mark.slow
def test_the_report_has_its_table_heat_map_and_the_proxies_cost(geo_run: tuple[Path, dict[str, Any]]) -> None:
    out, geo = geo_run
    assert (out / geo["plots"][0]).read_bytes().startswith(PNG_SIGNATURE)
    report = (out / "report.md").read_text()
    assert "| from | unit | routed (server) | nearest server | farthest server | verdict |" in report
    assert geo["redirect"]["followed"]["measured_ms"] >= geo["latency_ms"]["westeurope"]["eastus"]
    assert geo["wan_proxies"]["cpu_s_per_mib"] > 0
