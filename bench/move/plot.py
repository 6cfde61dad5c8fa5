"""The timeline PNG: per size, what the clients saw while the tenant moved back and forth.

Rates are per BIN_S bin, as calls per second: the moving tenant's acknowledged writes and
good reads, the neighbour's good reads, and every call that failed (any tenant); the move's
steps are shaded spans (copy, catch-up, the checkpoint's verification, fence to flip, clean).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from bench.move.clients import Call
from bench.move.run import SizeRun

BIN_S = 0.25
NAME = "move-timeline.png"
SHADES = {
    "copy": "tab:blue",
    "catch-up": "tab:green",
    "verify": "tab:olive",
    "fence": "tab:red",
    "clean": "tab:gray",
}
SERIES: tuple[tuple[str, Callable[[Call], bool]], ...] = (
    ("moving writes", lambda c: c.tenant == "moving" and c.kind == "write" and c.ok),
    ("moving reads", lambda c: c.tenant == "moving" and c.kind == "read" and c.ok),
    ("neighbour reads", lambda c: c.tenant == "neighbour" and c.kind == "read" and c.ok),
    ("errors", lambda c: not c.ok),
)


def timeline_plot(runs: Sequence[SizeRun], folder: Path) -> str:
    figure, rows = plt.subplots(len(runs), 1, figsize=(10, 3.2 * len(runs)), squeeze=False)
    for axes, run in zip(rows[:, 0], runs, strict=True):
        _one(axes, run)
    rows[-1, 0].set_xlabel("seconds since the clients started")
    figure.tight_layout()
    figure.savefig(folder / NAME, dpi=110)
    plt.close(figure)
    return NAME


def _one(axes: Axes, run: SizeRun) -> None:
    calls = run.timeline.calls
    end = max((c.ended for c in calls), default=run.started) - run.started
    edges = np.arange(0.0, end + BIN_S, BIN_S)
    for label, chosen in SERIES:
        times = [c.ended - run.started for c in calls if chosen(c)]
        counts, _ = np.histogram(times, bins=edges)
        axes.plot(edges[:-1], counts / BIN_S, label=label, color="tab:red" if label == "errors" else None)
    shaded: set[str] = set()
    for move in run.moves:
        for phase in move.phases:
            span_label = None if phase.name in shaded else phase.name
            shaded.add(phase.name)
            start, stop = phase.started - run.started, phase.ended - run.started
            axes.axvspan(start, stop, color=SHADES[phase.name], alpha=0.2, label=span_label)
    axes.set_ylabel("calls per second")
    axes.set_ylim(bottom=0)
    axes.set_title(f"{run.users:,} users: {len(run.moves)} moves")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper right", fontsize="small", ncol=2)
