"""Goals: a system's metric against its baseline's (a ratio) or against a fixed number.

A goal names results by name; `WORKLOAD@smallest` and `WORKLOAD@largest` pick a sweep's ends.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.measured import Measured

COMPARE = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Goal:
    title: str
    system: str
    metric: str
    op: str
    target: float
    baseline: str | None = None

    def judge(self, results: Mapping[str, Measured]) -> Verdict:
        system = find(self.system, results)
        baseline = find(self.baseline, results) if self.baseline else None
        if system is None or (self.baseline and baseline is None):
            return Verdict(self, None, None, None)
        mine = system.metric(self.metric)
        theirs = baseline.metric(self.metric) if baseline else None
        value = mine if theirs is None else _ratio(mine, theirs)
        return Verdict(self, value, mine, theirs)


@dataclass(frozen=True)
class Verdict:
    goal: Goal
    value: float | None
    system_value: float | None
    baseline_value: float | None

    @property
    def passed(self) -> bool:
        return self.value is not None and COMPARE[self.goal.op](self.value, self.goal.target)

    @property
    def is_ratio(self) -> bool:
        return self.goal.baseline is not None

    def describe(self) -> str:
        kind = f"{self.goal.system} / {self.goal.baseline}" if self.is_ratio else self.goal.system
        shown = "not measured" if self.value is None else f"{self.value:,.3f}"
        status = "PASS" if self.passed else "MISS"
        goal = f"goal {self.goal.op} {self.goal.target:,g}"
        return f"{status}  {self.goal.title}: {kind} {self.goal.metric} = {shown} ({goal})"

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.goal.title,
            "system": self.goal.system,
            "baseline": self.goal.baseline,
            "metric": self.goal.metric,
            "ratio": self.is_ratio,
            "value": self.value,
            "system_value": self.system_value,
            "baseline_value": self.baseline_value,
            "goal": {"op": self.goal.op, "target": self.goal.target},
            "passed": self.passed,
        }


def _ratio(mine: float, theirs: float) -> float | None:
    """None when the baseline measured nothing: no ratio, so no pass."""
    return mine / theirs if theirs else None


def find(name: str | None, results: Mapping[str, Measured]) -> Measured | None:
    if name is None:
        return None
    workload, _, end = name.partition("@")
    if end not in ("smallest", "largest"):
        return results.get(name)
    swept = sorted((r for r in results.values() if r.workload == workload), key=lambda r: r.tenants or 0)
    if len(swept) < 2:
        return None
    return swept[-1] if end == "largest" else swept[0]
