"""Primary down: every acknowledged write survives failover, writes resume, the old primary rejoins."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import asyncpg
import pytest

from scale_units import launcher
from scale_units.failover import failover, rejoin
from scale_units.state import ClusterState
from scale_units.status import cluster_status
from tests.cluster import temp_cluster


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[ClusterState]:
    """Failover rearranges roles: it gets a cluster of its own."""
    with temp_cluster() as state:
        yield state


async def _write_until_failure(dsn: str, acked: list[int], stop_after: float, enough: asyncio.Event) -> None:
    conn = await asyncpg.connect(dsn)
    deadline = time.monotonic() + stop_after
    n = 0
    # A dying server can break the protocol mid-message (asyncpg: InternalClientError).
    with contextlib.suppress(
        OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError
    ):
        while time.monotonic() < deadline:
            n += 1
            await conn.execute("INSERT INTO seq VALUES ($1)", n)
            acked.append(n)
            if len(acked) == 300:
                enough.set()


async def test_sigkill_primary_mid_stream_loses_no_acknowledged_write(own_cluster: ClusterState) -> None:
    state = own_cluster
    unit = state.topology.scale_units["emea-1"]
    old_primary = unit.primary
    conn = await asyncpg.connect(state.dsn(old_primary, "superuser"))
    assert await conn.fetchval("SHOW synchronous_standby_names") == 'ANY 1 ("emea-1-northeurope")'
    await conn.execute("CREATE TABLE seq (n int PRIMARY KEY)")
    await conn.close()

    acked: list[int] = []
    enough = asyncio.Event()
    writer = asyncio.create_task(_write_until_failure(state.dsn(old_primary, "superuser"), acked, 30, enough))
    await asyncio.wait_for(enough.wait(), 30)
    launcher.process(state, old_primary.name).kill()
    await writer
    assert len(acked) >= 300

    started = time.monotonic()
    promoted = await failover(state, "emea-1")
    new_primary = promoted.topology.scale_units["emea-1"].primary
    assert new_primary.name == "emea-1-northeurope"
    conn = await asyncpg.connect(promoted.dsn(new_primary, "superuser"))
    try:
        found = {r["n"] for r in await conn.fetch("SELECT n FROM seq")}
        assert set(acked) <= found, f"lost acknowledged writes: {sorted(set(acked) - found)[:10]}"
        await conn.execute("INSERT INTO seq VALUES (-1)")
    finally:
        await conn.close()
    print(f"failover: {len(acked)} acknowledged writes kept, {time.monotonic() - started:.2f}s to promote")
    assert ClusterState.load(state.directory).servers[new_primary.name].role.value == "primary"

    await asyncio.to_thread(rejoin, promoted, old_primary.name)
    await launcher.wait_streaming(promoted)
    statuses = {s.name: s for s in await cluster_status(promoted)}
    assert statuses[old_primary.name].alive
    assert statuses[old_primary.name].role == "replica"
    assert statuses[new_primary.name].role == "primary"


async def test_failover_refuses_while_the_primary_runs(own_cluster: ClusterState) -> None:
    from scale_units.errors import ClusterError

    with pytest.raises(ClusterError, match="still running"):
        await failover(ClusterState.load(own_cluster.directory), "na-1")
