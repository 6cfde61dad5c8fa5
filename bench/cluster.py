"""The cluster under test: the running one in the state directory, else one of our own, purged afterwards."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from corestore.cli import migrate_state
from scale_units.local import launcher
from scale_units.model.loader import default_topology_path
from scale_units.model.topology import Topology
from scale_units.state import STATE_FILE, ClusterState


@dataclass(frozen=True)
class Cluster:
    state: ClusterState
    topology: Topology  # discovered once, when the harness starts: nothing here fails over
    owned: bool


@contextlib.contextmanager
def cluster(
    directory: Path | None, topology: Path | None = None, settings: Mapping[str, str] | None = None
) -> Iterator[Cluster]:
    """The running cluster in `directory` if there is one, else our own of `topology` (or the default)."""
    if directory is not None and (directory / STATE_FILE).exists():
        state = ClusterState.load(directory)
        yield Cluster(state, state.discover(), owned=False)
        return
    # A fresh temp dir: the server user (nobody, when run as root) must be able to reach it.
    own = Path(tempfile.mkdtemp(prefix="corestore-bench-"))
    try:
        state = launcher.up(topology or default_topology_path(), own, settings=settings)
        migrate_state(state)
        yield Cluster(state, state.discover(), owned=True)
    finally:
        launcher.down(own, purge=True)
        shutil.rmtree(own, ignore_errors=True)
