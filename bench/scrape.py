"""The front ends' own metrics during a run, scraped as Prometheus would (`/metrics` with the
operator's bearer token, every second), so the report shows what the servers saw beside what
the clients measured: reads per database server over time."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import httpx
from prometheus_client.parser import text_string_to_metric_families

INTERVAL_S = 1.0
READS = "corestore_store_reads_total"


@dataclass(frozen=True)
class Sample:
    at_s: float  # since the scraping began
    reads: dict[str, float]  # database server -> reads served so far, summed over the front ends


@dataclass
class Scraped:
    samples: list[Sample] = field(default_factory=list)


@contextlib.contextmanager
def scraping(urls: Sequence[str], operator_key: str) -> Iterator[Scraped]:
    """Scrapes `urls` every second in a thread until the block ends; a failed scrape is skipped."""
    scraped = Scraped()
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {operator_key}"}

    def run() -> None:
        began = time.monotonic()
        with httpx.Client(timeout=INTERVAL_S * 5, headers=headers) as http:
            while not stop.wait(INTERVAL_S):
                with contextlib.suppress(httpx.HTTPError):
                    reads: dict[str, float] = {}
                    for url in urls:
                        for server, count in _reads(http.get(f"{url}/metrics").raise_for_status().text):
                            reads[server] = reads.get(server, 0.0) + count
                    scraped.samples.append(Sample(time.monotonic() - began, reads))

    thread = threading.Thread(target=run, name="metrics-scraper", daemon=True)
    thread.start()
    try:
        yield scraped
    finally:
        stop.set()
        thread.join(timeout=INTERVAL_S * 10)


def _reads(text: str) -> Iterator[tuple[str, float]]:
    """(server, reads) of each role's sample."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == READS:
                yield sample.labels["server"], sample.value


def rates(samples: Sequence[Sample]) -> dict[str, tuple[list[float], list[float]]]:
    """Per server: the times and the reads per second between consecutive samples."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for before, after in pairwise(samples):
        span = after.at_s - before.at_s
        for server in after.reads:
            xs, ys = out.setdefault(server, ([], []))
            xs.append(after.at_s)
            ys.append((after.reads[server] - before.reads.get(server, 0.0)) / span)
    return out
