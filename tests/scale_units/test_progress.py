"""Progress where no terminal reads it: one plain line per phase and per workload, no bar frames."""

from __future__ import annotations

import io
import time

import pytest

from scale_units.progress import Progress

pytestmark = pytest.mark.unit


def test_without_a_terminal_each_phase_and_workload_is_one_plain_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = Progress(1.0, terminal=False)
    progress.note("starting front ends")
    progress.follow("http-read", time.monotonic() + 0.3, 1.0, lambda: 1234)
    progress.measured("http-read", 1234.4, 2500)
    progress.close()
    err = capsys.readouterr().err
    assert err == "starting front ends\nhttp-read: 1,234 ops/s, p99 2.50 ms\n"


def test_a_command_s_phases_go_where_it_is_told() -> None:
    """`tenant move` keeps its phases on standard output, the summary's stream."""
    out = io.StringIO()
    progress = Progress(file=out)
    progress("etcd: starting")
    progress("replicas: starting 2")
    progress.close()
    assert out.getvalue() == "etcd: starting\nreplicas: starting 2\n"


def test_on_a_terminal_the_phase_is_one_line_redrawn_in_place() -> None:
    out = io.StringIO()
    progress = Progress(file=out, terminal=True)
    progress("etcd: starting")
    progress("replicas: starting 2")
    progress.close()
    frames = out.getvalue()
    assert "\r" in frames, "redrawn, not appended"
    assert frames.count("\n") <= 1
    assert "replicas: starting 2" in frames
