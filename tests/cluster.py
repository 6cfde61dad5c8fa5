"""Test clusters, after asyncpg's `cluster.py`: real servers in a temp dir, always stopped."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from corestore.cli import migrate_state
from scale_units.local import launcher
from scale_units.model.loader import default_topology_path
from scale_units.state import ClusterState

# Durability across OS crashes is not under test (SIGKILL keeps the page cache).
TEST_SETTINGS: Mapping[str, str] = {"fsync": "off", "full_page_writes": "off"}


@contextmanager
def temp_cluster(topology: Path | None = None) -> Iterator[ClusterState]:
    """A whole cluster in a fresh temp dir, stopped and deleted afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="corestore-test-"))
    try:
        state = launcher.up(topology or default_topology_path(), directory, settings=TEST_SETTINGS)
        migrate_state(state)
        yield state
    finally:
        launcher.down(directory, purge=True)
        shutil.rmtree(directory, ignore_errors=True)
