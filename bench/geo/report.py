"""The geo bench's output: checks against the configured latencies, its `geo` section of
results.json, a table in report.md, and a heat map of read latency (region x server).

A figure passes when within 20% of what the topology's latencies say, or within
`FLOOR_MS` where they say ~0 (a read inside a region costs the library's own fraction
of a millisecond, stretched by whatever else the shared machine runs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from bench.geo.measure import Figure

TOLERANCE = 0.20
FLOOR_MS = 5.0
HEATMAP = "geo-read-heatmap.png"


@dataclass(frozen=True)
class GeoResults:
    latency_ms: Mapping[str, Mapping[str, float]]
    reads: Mapping[str, Mapping[str, list[Figure]]]  # reader region -> unit -> routed, then each server
    commits: Mapping[str, Mapping[str, Figure]]  # unit -> quorum, async, quorum_wait
    read_your_writes: Mapping[str, Mapping[str, Figure]]  # unit -> plain_read, after_write
    redirect: Mapping[str, Figure]
    wan: Mapping[str, Any] | None


def passes(figure: Figure) -> bool:
    assert figure.expected_ms is not None
    return abs(figure.measured_ms - figure.expected_ms) <= max(TOLERANCE * figure.expected_ms, FLOOR_MS)


def checks(results: GeoResults) -> list[dict[str, Any]]:
    """Every read (routed and forced) and every unit's quorum wait, against the configured latency."""
    found = []
    for region, units in results.reads.items():
        for unit, figures in units.items():
            for figure in figures:
                found.append(_check(f"read from {region}, {unit}, {figure.label}", figure))
    for unit, commit in results.commits.items():
        found.append(_check(f"quorum wait of {unit}", commit["quorum_wait"]))
    return found


def _check(what: str, figure: Figure) -> dict[str, Any]:
    return {"what": what, **figure.to_json(), "pass": passes(figure)}


def section(results: GeoResults) -> dict[str, Any]:
    found = checks(results)
    return {
        "latency_ms": results.latency_ms,
        "tolerance": {"relative": TOLERANCE, "floor_ms": FLOOR_MS},
        "reads": {
            region: {unit: {f.label: f.to_json() for f in figures} for unit, figures in units.items()}
            for region, units in results.reads.items()
        },
        "commits": {u: {k: f.to_json() for k, f in c.items()} for u, c in results.commits.items()},
        "read_your_writes": {
            u: {k: f.to_json() for k, f in c.items()} for u, c in results.read_your_writes.items()
        },
        "redirect": {k: f.to_json() for k, f in results.redirect.items()},
        "wan_proxies": results.wan,
        "checks": found,
        "passed": all(c["pass"] for c in found),
        "plots": [HEATMAP],
    }


def write(results: GeoResults, header: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    geo = section(results)
    (folder / "results.json").write_text(json.dumps({**header, "geo": geo}, indent=2) + "\n")
    (folder / "report.md").write_text(markdown(results, header, geo))
    heatmap(results, folder / HEATMAP)
    return geo


def _ms(figure: Figure) -> str:
    expected = "" if figure.expected_ms is None else f" ({figure.expected_ms:g})"
    return f"{figure.measured_ms:.1f}{expected}"


def markdown(results: GeoResults, header: Mapping[str, Any], geo: Mapping[str, Any]) -> str:
    lines = [
        f"# Core Store geo bench, {header['started_at']}",
        "",
        f"`{header['command']}`: medians in ms, (configured latency) in brackets; "
        f"PASS within {TOLERANCE:.0%} (or {FLOOR_MS:g} ms where ~0 is configured).",
        "",
        "## Reads (`users.get`) by caller region x tenant geo",
        "",
        "| from | unit | routed (server) | nearest server | farthest server | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for region, units in results.reads.items():
        for unit, (routed, *forced) in units.items():
            near = min(forced, key=lambda f: f.expected_ms or 0.0)
            far = max(forced, key=lambda f: f.expected_ms or 0.0)
            verdict = "PASS" if all(passes(f) for f in (routed, *forced)) else "FAIL"
            lines.append(
                f"| {region} | {unit} | {_ms(routed)} {routed.server} | {_ms(near)} {near.server} "
                f"| {_ms(far)} {far.server} | {verdict} |"
            )
    lines += ["", "## Commits, from the primary's region", ""]
    lines += ["| unit | quorum | async (`synchronous_commit = local`) | quorum wait | verdict |"]
    lines += ["|---|---|---|---|---|"]
    for unit, c in results.commits.items():
        verdict = "PASS" if passes(c["quorum_wait"]) else "FAIL"
        lines.append(
            f"| {unit} | {_ms(c['quorum'])} | {_ms(c['async'])} | {_ms(c['quorum_wait'])} | {verdict} |"
        )
    lines += [
        "",
        "When a primary dies, Patroni promotes an in-sync replica of the primary's own region if the "
        "unit has one (`failover_priority`, `scale_units/local/patroni.py`), so commits keep these "
        "figures. This cluster's units have none (their one replica is in the other region): here a "
        "failover would move every commit's path across the WAN.",
    ]
    lines += ["", "## Read-your-writes, from a replica's region", ""]
    lines += [
        "| unit | read, nothing to wait for | read right after own write | answered by |",
        "|---|---|---|---|",
    ]
    for unit, r in results.read_your_writes.items():
        after = r["after_write"]
        lines.append(f"| {unit} | {_ms(r['plain_read'])} | {_ms(after)} | {after.server} |")
    lines += ["", "## Redirect (another geo's tenant at the client's own front end)", ""]
    lines += [f"- {f.label}: {_ms(f)} ms" for f in results.redirect.values()]
    wan = results.wan or {}
    per_mib = wan.get("cpu_s_per_mib")
    lines += [
        "",
        f"WAN proxies: {wan.get('moved_bytes', 0) / 2**20:.1f} MiB moved, {wan.get('cpu_s', 0.0):.2f} CPU s"
        + ("" if per_mib is None else f", {per_mib * 1000:.1f} ms CPU per MiB"),
        "",
        f"Overall: {'PASS' if geo['passed'] else 'FAIL'} ({sum(c['pass'] for c in geo['checks'])}"
        f"/{len(geo['checks'])} checks). Heat map: ![reads]({HEATMAP})",
        "",
    ]
    return "\n".join(lines)


def heatmap(results: GeoResults, path: Path) -> None:
    """Forced reads: caller region (rows) x server (columns), ms in each cell."""
    regions = list(results.reads)
    first = results.reads[regions[0]]
    servers = [f.server for figures in first.values() for f in figures[1:]]
    values = [[f.measured_ms for figures in results.reads[r].values() for f in figures[1:]] for r in regions]
    figure, axes = plt.subplots(figsize=(1.6 * len(servers) + 2, 0.7 * len(regions) + 2))
    image = axes.imshow(values, cmap="viridis")
    axes.set_xticks(range(len(servers)), servers, rotation=30, ha="right")
    axes.set_yticks(range(len(regions)), regions)
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            axes.text(
                j,
                i,
                f"{value:.1f}",
                ha="center",
                va="center",
                color="white" if value < max(map(max, values)) / 2 else "black",
            )
    axes.set_xlabel("server read (forced)")
    axes.set_ylabel("caller region")
    axes.set_title("read latency over the simulated WAN (ms)")
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
