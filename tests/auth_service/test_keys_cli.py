"""`corestore keys`: publish, activate, retire, with the signer protected."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from devtools.cli import app


def test_rotation_through_the_cli(tmp_path: Path) -> None:
    run = CliRunner()
    first = run.invoke(app, ["keys", "list", "--dir", str(tmp_path)])
    old = first.output.splitlines()[1].split()[0]
    new = run.invoke(app, ["keys", "rotate", "--dir", str(tmp_path)]).output.strip()
    assert "published" in run.invoke(app, ["keys", "list", "--dir", str(tmp_path)]).output
    assert run.invoke(app, ["keys", "activate", "--kid", new, "--dir", str(tmp_path)]).exit_code == 0
    refused = run.invoke(app, ["keys", "retire", "--kid", new, "--dir", str(tmp_path)])
    assert refused.exit_code == 1
    assert "error:" in refused.output
    assert run.invoke(app, ["keys", "retire", "--kid", old, "--dir", str(tmp_path)]).exit_code == 0
    states = {
        line.split()[0]: line.split()[2]
        for line in run.invoke(app, ["keys", "list", "--dir", str(tmp_path)]).output.splitlines()[1:]
    }
    assert states == {old: "retired", new: "active"}
    usgov = run.invoke(app, ["keys", "list", "--cloud", "usgov", "--dir", str(tmp_path)]).output
    assert old not in usgov
    assert new not in usgov
