"""The mover killed (SIGKILL) mid-move: the tenant stays served by exactly one unit, no
acknowledged write is lost, and running the same command again finishes or undoes it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import pytest

from corestore.roles import DIRECTORY_DB
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.model.geography import Cloud
from scale_units.state import ClusterState
from tests.moves.conftest import UNITS, other_unit, with_users


def _move_killed_at(cluster: ClusterState, tenant: uuid.UUID, unit: str, phase: str) -> None:
    """Run the command and SIGKILL it when it prints a line starting with `phase`."""
    command = [sys.executable, "-m", "devtools", "tenant", "move", str(tenant), "--to", unit]
    with subprocess.Popen(
        [*command, "--dir", str(cluster.directory)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each line as it is printed
    ) as mover:
        assert mover.stdout is not None
        try:
            for line in mover.stdout:  # bounded: the mover ends, or is killed at its phase
                if line.startswith(phase):
                    os.killpg(mover.pid, signal.SIGKILL)
                    break
        finally:
            mover.wait(timeout=120)


async def _rows(cluster: ClusterState, store: CoreStore, tenant: uuid.UUID) -> dict[str, int]:
    found = {}
    for unit in UNITS:
        async with cluster.connect(store.topology.scale_units[unit].primary, DIRECTORY_DB) as conn:
            found[unit] = await conn.fetchval("SELECT count(*) FROM users WHERE tenant_id = $1", tenant)
    return found


@pytest.mark.parametrize("phase", ["copy: 0/", "fence", "flip"])
async def test_a_killed_mover_leaves_one_home_and_a_rerun_finishes(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant, random_name: str, phase: str
) -> None:
    tid, source = moving.id.value, moving.placement.scale_unit
    target = other_unit(source)
    session = await with_users(units_store, moving, random_name, 20)

    await asyncio.to_thread(_move_killed_at, units_cluster, tid, target, phase)

    # Served by the one unit the catalog names, every acknowledged write there.
    units_store.catalog(Cloud.PUBLIC).forget(tid)
    home = (await units_store.placement(tid, Cloud.PUBLIC)).scale_unit
    assert len((await session.users.list(top=50)).items) == 20
    assert (await _rows(units_cluster, units_store, tid))[home] == 20
    async with units_cluster.connect(units_store.topology.scale_units[source].primary, DIRECTORY_DB) as conn:
        fence = await conn.fetchval("SELECT state FROM corestore.tenant_fences WHERE tenant_id = $1", tid)
    assert (home, fence) == {
        "copy: 0/": (source, None),
        "fence": (source, "fenced"),
        "flip": (target, "moved"),
    }[phase]

    report = await units_store.operator.move_tenant(tid, target)  # finishes, or undoes and moves
    assert report.target == target
    await session.users.create(user_principal_name=f"late@{random_name}.example", display_name="late")
    assert (await _rows(units_cluster, units_store, tid)) == {source: 0, target: 21}, (
        f"killed at {phase}, home {home}"
    )
