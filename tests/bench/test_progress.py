"""The bench's progress where no terminal reads it: one plain line per workload, no bar frames."""

from __future__ import annotations

import time

import pytest

from bench.progress import Progress

pytestmark = pytest.mark.unit


def test_without_a_terminal_each_workload_is_one_plain_line(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(1.0, terminal=False)
    progress.note("starting front ends")
    progress.follow("http-read", time.monotonic() + 0.3, 1.0, lambda: 1234)
    progress.measured("http-read", 1234.4, 2500)
    progress.close()
    err = capsys.readouterr().err
    assert err == "http-read: 1,234 ops/s, p99 2.50 ms\n"
