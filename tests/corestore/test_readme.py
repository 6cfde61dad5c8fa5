"""The README's library example runs as written, against the session's cluster."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from scale_units.state import ClusterState

README = Path(__file__).parents[2] / "README.md"


def test_readme_library_example_runs(cluster: ClusterState, tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert blocks, "the README has no python example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    env = {**os.environ, "CORESTORE_HOME": str(cluster.directory)}
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "scale_unit='emea-1'" in result.stdout
    assert "['alice@contoso.example']" in result.stdout
