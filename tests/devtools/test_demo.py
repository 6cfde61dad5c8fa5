"""The README's main job, `corestore demo`, runs end to end on the session's cluster."""

from __future__ import annotations

import pytest

from devtools.demo import run_demo
from scale_units.state import ClusterState


def test_demo_signs_in_writes_and_reads_its_write_in_another_region(
    cluster: ClusterState, capsys: pytest.CaptureFixture[str]
) -> None:
    run_demo(cluster.directory)
    out = capsys.readouterr().out
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines() if "  " in line}
    assert " 201 " in lines["operator creates tenant (country FR)"]
    assert '"scaleUnit": "emea-1"' in lines["operator creates tenant (country FR)"]
    assert " 200 " in lines["admin signs in (password grant, by domain)"]
    assert "x-corestore-server=emea-1-westeurope" in lines["create alice via westeurope (primary)"]
    read = lines["read alice via northeurope (its replica)"]
    assert '"displayName": "Alice"' in read
    assert "x-corestore-server=emea-1-northeurope" in read
    assert '"entries": 1' in lines["sign-in logs (admin)"], "the administrator's own sign-in"
    assert "invalid_grant" in lines["wrong password"]
