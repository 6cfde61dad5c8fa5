"""The results folder's text: results.json (everything, machine-readable) and report.md (tables)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.goals import Verdict
from bench.measured import Measured

LATENCIES = (("p50", "p50_us"), ("p95", "p95_us"), ("p99", "p99_us"), ("p99.9", "p999_us"), ("max", "max_us"))


@dataclass(frozen=True)
class Outcome:
    """Everything one run produced, and what it was run on."""

    header: Mapping[str, Any]
    results: Mapping[str, Measured]
    summaries: Mapping[str, tuple[str, str | None]]
    verdicts: tuple[Verdict, ...]
    failures: Mapping[str, str]
    notes: tuple[str, ...]
    plots: tuple[str, ...]


def write_json(outcome: Outcome, folder: Path) -> Path:
    workloads = {
        name: {
            "summary": outcome.summaries[m.workload][0],
            "baseline": outcome.summaries[m.workload][1],
            **m.to_json(),
        }
        for name, m in outcome.results.items()
    }
    document = {
        **outcome.header,
        "workloads": workloads,
        "goals": [v.to_json() for v in outcome.verdicts],
        "failures": dict(outcome.failures),
        "notes": list(outcome.notes),
        "plots": list(outcome.plots),
    }
    path = folder / "results.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def write_markdown(outcome: Outcome, folder: Path) -> Path:
    header = outcome.header
    machine = header["machine"]
    lines = [
        f"# Core Store bench, {header['started_at']}",
        "",
        f"`{header['command']}`",
        "",
        _machine_line(machine),
        _settings_line(header["settings"], machine["cpu_count"]),
        "",
        "## Workloads",
        "",
        *_workload_table(outcome),
        "",
        "## Goals",
        "",
        *goal_table(outcome.verdicts),
        *_section("Round trips", _round_trips(header.get("round_trips"))),
        *_section("Failures", [f"- **{name}**: {message}" for name, message in outcome.failures.items()]),
        *_section("Notes", [f"- {note}" for note in outcome.notes]),
        *_section("Plots", [f"![{plot}]({plot})" for plot in outcome.plots]),
    ]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _round_trips(counted: Mapping[str, int] | None) -> list[str]:
    """Statements sent per library call, counted on the wire (bench/roundtrips.py)."""
    if not counted:
        return []
    calls = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counted.items())
    return [f"Per library call, counted on the wire: {calls}."]


def _machine_line(machine: Mapping[str, Any]) -> str:
    postgres = machine["postgres"]["version"].split(",")[0]
    return (
        f"{machine['cpu_count']} CPUs ({machine['cpu_model']}), {machine['memory_bytes'] / 2**30:.1f} GiB, "
        f"Linux {machine['kernel']}, Python {machine['python']}, {postgres}."
    )


def _settings_line(settings: Mapping[str, Any], cpus: int) -> str:
    return (
        f"Each workload: {settings['warmup_s']:g} s warm-up, {settings['duration_s']:g} s measured, "
        f"{settings['rounds']} round(s) (workloads interleaved, rounds merged; the sweep runs once); "
        f"{settings['concurrency']} concurrent tasks over {settings['processes']} generator processes; "
        "closed loop; latency from send to checked answer. Machine load: the 1-minute load average "
        f"after each round, on {cpus} CPUs (a run keeps them busy itself; well above that, others "
        "shared the machine and the numbers are noisier)."
    )


def _workload_table(outcome: Outcome) -> list[str]:
    head = (
        "| workload | baseline | ops/s | "
        + " | ".join(f"{name} ms" for name, _ in LATENCIES)
        + " | per server CPU-s | ok | failed | machine load |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, m in outcome.results.items():
        baseline = outcome.summaries[m.workload][1] or ""
        baseline = "" if baseline == name else baseline
        latency = " | ".join(f"{getattr(m.run.latency, key) / 1000:,.3f}" for _, key in LATENCIES)
        per_cpu = f"{m.run.per_cpu_s:,.0f}" if m.run.server_cpu_s else ""
        rows.append(
            f"| {name} | {baseline} | {m.run.throughput:,.0f} | {latency} | {per_cpu} | {m.run.ok:,} | "
            f"{m.failed_calls:,} | {' '.join(f'{x:.1f}' for x in m.run.machine_load)} |"
        )
    return rows


def goal_table(verdicts: tuple[Verdict, ...]) -> list[str]:
    rows = [
        "| goal | measured | system | baseline | value | goal | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        goal = v.goal
        measured = (
            f"{goal.system} / {goal.baseline} {goal.metric}" if v.is_ratio else f"{goal.system} {goal.metric}"
        )
        rows.append(
            f"| {goal.title} | {measured} | {_number(v.system_value)} | {_number(v.baseline_value)} | "
            f"{_number(v.value)} | {goal.op} {goal.target:,g} | {'pass' if v.passed else 'MISS'} |"
        )
    return rows


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"


def _section(title: str, items: list[str]) -> list[str]:
    return ["", f"## {title}", "", *items] if items else []
