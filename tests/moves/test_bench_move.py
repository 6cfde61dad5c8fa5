"""`python -m bench move --quick` on the package's two-unit cluster: a tenant moved there and back
under HTTP writers and readers loses no acknowledged write and fails no read, and the report
has its `move` section, its goals and its timeline.

It lives beside the move tests to share their cluster (`--dir`): its own would cost a minute.
Speeds are the bench's figures, never asserted here; the goals' verdicts are only checked to
be there.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.move.main import QUICK_MOVES, QUICK_SIZES, main
from scale_units.state import ClusterState

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_quick_move_bench_loses_nothing_and_reports(units_cluster: ClusterState, tmp_path: Path) -> None:
    status = main(["--quick", "--dir", str(units_cluster.directory), "--out", str(tmp_path)])
    document = json.loads((tmp_path / "results.json").read_text())
    sizes = document["move"]["sizes"]
    assert [s["users"] for s in sizes] == list(QUICK_SIZES)
    for size in sizes:
        assert size["moves"] == QUICK_MOVES, size["failed_moves"]
        assert size["acknowledged_writes"] > 0, "the writers were at work"
        assert size["lost_writes"] == 0, size
        assert size["reads"] > 0
        assert size["failed_reads"] == 0, size
        assert size["rows"] >= size["users"], "the seeded users moved"
        assert size["fence_ms_max"] >= size["fence_ms_p50"] > 0
    assert status == 0, "its exit status says nothing was lost and no read failed"
    titles = {g["title"] for g in document["goals"]}
    assert {"no acknowledged write lost", "no failed read", "write fence p99 as clients saw it"} <= titles
    for plot in document["move"]["plots"]:
        assert (tmp_path / plot).read_bytes().startswith(PNG_SIGNATURE)
    assert "| goal | measured |" in (tmp_path / "report.md").read_text()
