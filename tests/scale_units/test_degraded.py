"""`no_quorum = "degrade"`: with no replica alive, commits go on asynchronously and say so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from scale_units import launcher
from scale_units.state import ClusterState
from scale_units.status import ServerStatus, cluster_status
from tests.cluster import temp_cluster

TOPOLOGY = Path(__file__).parents[1] / "topologies" / "degrade.toml"
PRIMARY, REPLICA = "emea-1-westeurope", "emea-1-northeurope"


@pytest.fixture(scope="module")
def degrade_cluster() -> Iterator[ClusterState]:
    with temp_cluster(TOPOLOGY) as state:
        yield state


def _primary_sync(state: ClusterState, wanted: str, timeout: float = 20.0) -> ServerStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = {s.name: s for s in asyncio.run(cluster_status(state))}[PRIMARY]
        if status.sync == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_replica_lost_commits_go_on_degraded_and_the_quorum_returns(degrade_cluster: ClusterState) -> None:
    assert _primary_sync(degrade_cluster, "quorum").sync == "quorum"
    launcher.process(degrade_cluster, REPLICA).kill()
    assert _primary_sync(degrade_cluster, "DEGRADED").sync == "DEGRADED", "status shows the unit degraded"

    async def commit() -> None:
        conn = await asyncpg.connect(degrade_cluster.dsn(PRIMARY, "superuser"))
        try:
            await asyncio.wait_for(
                conn.execute("CREATE TABLE degraded (n int); INSERT INTO degraded VALUES (1)"), 10
            )
        finally:
            await conn.close()

    asyncio.run(commit())  # acknowledged without a replica
    launcher.up(TOPOLOGY, degrade_cluster.directory)
    assert _primary_sync(degrade_cluster, "quorum").sync == "quorum"
