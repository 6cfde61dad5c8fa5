"""Latencies in HDR histograms (microseconds, 1 us to 60 s, 3 significant digits), merged across processes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000
DIGITS = 3
PERCENTILES = {"p50_us": 50.0, "p95_us": 95.0, "p99_us": 99.0, "p999_us": 99.9}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def record_ns(histogram: HdrHistogram, elapsed_ns: int) -> None:
    """Clamped into range, so one pathological call can't make the whole run fail."""
    micros = min(HIGHEST_US, max(LOWEST_US, elapsed_ns // 1000))
    histogram.record_value(micros)


def decode(blob: str | bytes) -> HdrHistogram:
    return HdrHistogram.decode(blob.encode("ascii") if isinstance(blob, str) else blob)


def merge(encoded: Iterable[str | bytes]) -> HdrHistogram:
    merged = new_histogram()
    for blob in encoded:
        merged.add(decode(blob))
    return merged


@dataclass(frozen=True)
class Latency:
    """The summary a report needs; the encoded histogram keeps the rest (for plots and re-analysis)."""

    count: int
    mean_us: float
    p50_us: int
    p95_us: int
    p99_us: int
    p999_us: int
    max_us: int
    encoded: str

    @classmethod
    def of(cls, histogram: HdrHistogram) -> Latency:
        at = {name: int(histogram.get_value_at_percentile(p)) for name, p in PERCENTILES.items()}
        return cls(
            count=int(histogram.get_total_count()),
            mean_us=round(float(histogram.get_mean_value()), 1),
            max_us=int(histogram.get_max_value()),
            encoded=histogram.encode().decode("ascii"),
            **at,
        )
