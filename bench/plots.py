"""PNG figures: the latency percentile curves of each system beside its baseline, the sweep's growth,
and the reads each database server served over the run, from the front ends' own metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.histogram import decode
from bench.measured import Measured
from bench.scrape import Sample, rates

NINES = 5  # the curve runs to p99.999 (as far as the sample count allows)
TICKS = (50.0, 90.0, 99.0, 99.9, 99.99, 99.999)


def pair_plot(system: Measured, baseline: Measured, folder: Path) -> str:
    figure, axes = plt.subplots(figsize=(8, 5))
    for measured in (system, baseline):
        xs, ys = _curve(measured)
        axes.plot(xs, ys, label=f"{measured.name} ({measured.run.throughput:,.0f}/s)")
    _percentile_axis(axes)
    axes.set_ylabel("latency (ms)")
    axes.set_title(f"{system.name} vs its baseline {baseline.name}")
    return _save(figure, axes, folder / f"latency-{system.name}-vs-{baseline.name}.png")


def sweep_plot(swept: list[Measured], folder: Path) -> str:
    figure, axes = plt.subplots(figsize=(8, 5))
    swept = sorted(swept, key=lambda m: m.tenants or 0)
    tenants = [m.tenants or 0 for m in swept]
    for key, label in (("p50_us", "p50"), ("p99_us", "p99")):
        axes.plot(tenants, [getattr(m.run.latency, key) / 1000 for m in swept], marker="o", label=label)
    axes.set_xscale("log")
    axes.set_xticks(tenants, [f"{n:,}" for n in tenants])
    axes.minorticks_off()
    axes.set_xlabel("tenants (10 users each)")
    axes.set_ylabel("point-read latency (ms)")
    axes.set_ylim(bottom=0)
    axes.set_title("library point read as the directory grows")
    return _save(figure, axes, folder / "scale-sweep.png")


def reads_plot(samples: Sequence[Sample], folder: Path) -> str:
    figure, axes = plt.subplots(figsize=(8, 5))
    for server, (xs, ys) in sorted(rates(samples).items()):
        axes.plot(xs, ys, label=server)
    axes.set_xlabel("seconds since the front ends started")
    axes.set_ylabel("reads per second")
    axes.set_title("Reads per database server, from the front ends' /metrics")
    return _save(figure, axes, folder / "frontend-reads-per-server.png")


def _curve(measured: Measured) -> tuple[list[float], list[float]]:
    histogram = decode(measured.run.latency.encoded)
    count = max(1, histogram.get_total_count())
    xs, ys = [], []
    for step in range(NINES * 20 + 1):
        tail = 10 ** (-step / 20)
        if tail * count < 1 and step:
            break
        xs.append(1 / tail)
        ys.append(histogram.get_value_at_percentile(100 * (1 - tail)) / 1000)
    return xs, ys


def _percentile_axis(axes: Axes) -> None:
    axes.set_xscale("log")
    axes.set_xticks([1 / (1 - p / 100) for p in TICKS], [f"p{p:g}" for p in TICKS])
    axes.set_xlabel("percentile")


def _save(figure: Figure, axes: Axes, path: Path) -> str:
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name


def all_plots(
    results: Mapping[str, Measured],
    pairs: list[tuple[str, str]],
    folder: Path,
    scraped: Sequence[Sample] = (),
) -> list[str]:
    made = [pair_plot(results[s], results[b], folder) for s, b in pairs if s in results and b in results]
    swept = [m for m in results.values() if m.tenants is not None]
    if len(swept) >= 2:
        made.append(sweep_plot(swept, folder))
    if len(scraped) >= 2:
        made.append(reads_plot(scraped, folder))
    return made
