"""One measured run of a workload, as reports and goals read it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.generator import Run


@dataclass(frozen=True)
class Measured:
    name: str
    workload: str
    run: Run
    tenants: int | None = None

    def joined(self, other: Measured) -> Measured:
        return Measured(self.name, self.workload, self.run.joined(other.run), self.tenants)

    @property
    def failed_calls(self) -> int:
        return sum(self.run.outcomes.values())

    @property
    def ok_fraction(self) -> float:
        total = self.run.ok + self.failed_calls
        return self.run.ok / total if total else 0.0

    def metric(self, name: str) -> float:
        if name == "throughput":
            return self.run.throughput
        if name == "ok_fraction":
            return self.ok_fraction
        if name == "per_cpu_s":
            return self.run.per_cpu_s
        return float(getattr(self.run.latency, name))

    def to_json(self) -> dict[str, Any]:
        latency = asdict(self.run.latency)
        return {
            "workload": self.workload,
            "throughput_per_s": round(self.run.throughput, 1),
            "server_cpu_s": self.run.server_cpu_s,
            "per_server_cpu_s": round(self.run.per_cpu_s, 1) if self.run.server_cpu_s else None,
            "ok": self.run.ok,
            "failed": self.failed_calls,
            "outcomes": self.run.outcomes,
            "ok_fraction": round(self.ok_fraction, 6),
            **{k: v for k, v in latency.items() if k != "encoded"},
            "measure_s": self.run.measure_s,
            "warmup_s": self.run.load.warmup_s,
            "processes": self.run.load.processes,
            "tasks": self.run.load.tasks,
            "pinned_cpu": self.run.load.pin_cpu,
            "tenants": self.tenants,
            "machine_load": list(self.run.machine_load),
            "histogram": latency["encoded"],
        }
