"""The bench's reading of the front ends' metrics: reads per second per server between scrapes."""

from __future__ import annotations

import pytest

from bench.scrape import Sample, rates

pytestmark = pytest.mark.unit


def test_rates_are_reads_per_second_between_scrapes_per_server() -> None:
    samples = [
        Sample(1.0, {"a": 10.0}),
        Sample(2.0, {"a": 110.0, "b": 5.0}),
        Sample(4.0, {"a": 110.0, "b": 405.0}),
    ]
    assert rates(samples) == {"a": ([2.0, 4.0], [100.0, 0.0]), "b": ([2.0, 4.0], [5.0, 200.0])}
