"""The move's verification: a difference between the two sides stops the move before its
flip, whether it arose before the checkpoint (the full comparison) or after it (the fence's
comparison of the rows written since)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from corestore.errors import Unavailable
from corestore.moves import verify
from corestore.roles import DIRECTORY_DB
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.model.geography import Cloud
from scale_units.state import ClusterState
from tests.moves.conftest import other_unit, with_users

STALL_S = 3.0  # longer than the checkpoint's pause
# A change only the target gets, as a replication fault would make it (no triggers, no audit).
TAMPER = """UPDATE users SET display_name = 'tampered'
WHERE tenant_id = $1 AND id = (SELECT id FROM users WHERE tenant_id = $1 LIMIT 1)"""


@pytest.mark.parametrize(("phase", "caught"), [("catch-up", "at the checkpoint"), ("verify", "in the fence")])
async def test_a_row_changed_on_the_target_alone_stops_the_move_before_its_flip(
    units_cluster: ClusterState,
    units_store: CoreStore,
    moving: Tenant,
    random_name: str,
    phase: str,
    caught: str,
) -> None:
    tid, source = moving.id.value, moving.placement.scale_unit
    target = other_unit(source)
    session = await with_users(units_store, moving, random_name, 3)

    primary = units_store.topology.scale_units[target].primary

    async def tamper() -> None:
        async with units_cluster.connect(primary, DIRECTORY_DB) as conn:
            await conn.execute("SET session_replication_role = replica")
            assert await conn.execute(TAMPER, tid) == "UPDATE 1"

    def progress(line: str) -> None:
        """Tampers when the mover reaches `phase` (the mover waits: this runs on its loop)."""
        if line.startswith(f"{phase}:"):
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, tamper()).result(timeout=30)

    with pytest.raises(Unavailable, match=f"verification failed {caught} on users"):
        await units_store.operator.move_tenant(tid, target, progress)

    units_store.catalog(Cloud.PUBLIC).forget(tid)
    assert (await units_store.placement(tid, Cloud.PUBLIC)).scale_unit == source
    await session.users.create(user_principal_name=f"late@{random_name}.example", display_name="late")
    assert len((await session.users.list(top=10)).items) == 4
    assert await _target_rows(units_cluster, units_store, target, tid) == 0, "the undo leaves no copy"


async def _target_rows(cluster: ClusterState, store: CoreStore, unit: str, tenant: uuid.UUID) -> int:
    async with cluster.connect(store.topology.scale_units[unit].primary, DIRECTORY_DB) as conn:
        return int(await conn.fetchval("SELECT count(*) FROM users WHERE tenant_id = $1", tenant))


async def test_a_target_behind_at_the_checkpoint_does_not_hold_the_writers(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant, random_name: str
) -> None:
    """The target's apply is stopped (a lock it waits for) just before the checkpoint: the
    writers' pause ends after its bound, a write is acknowledged while the target is still
    stopped, and the checkpoint succeeds once the target has caught up."""
    session = await with_users(units_store, moving, random_name, 3)
    target = other_unit(moving.placement.scale_unit)
    primary = units_store.topology.scale_units[target].primary
    held, released = threading.Event(), threading.Event()
    lines: list[str] = []

    async def hold_the_apply() -> None:
        async with units_cluster.connect(primary, DIRECTORY_DB) as conn, conn.transaction():
            await conn.execute("LOCK TABLE public.tenants IN EXCLUSIVE MODE")  # the mark's update waits
            held.set()
            await asyncio.sleep(STALL_S)
        released.set()

    def progress(line: str) -> None:
        lines.append(line)
        if line.startswith("catch-up:"):
            threading.Thread(target=asyncio.run, args=(hold_the_apply(),), daemon=True).start()
            assert held.wait(timeout=30)

    async def write_while_stalled() -> bool:
        await asyncio.to_thread(held.wait, 30)
        await asyncio.sleep(verify.PAUSE_S)  # the checkpoint's pause has begun
        await session.users.create(user_principal_name=f"stalled@{random_name}.example", display_name="s")
        return not released.is_set()

    writer = asyncio.create_task(write_while_stalled())
    await units_store.operator.move_tenant(moving.id, target, progress)
    assert await writer, "the write waited until the target caught up"
    assert any("2 attempt(s)" in line for line in lines if line.startswith("verify:")), lines
    assert len((await session.users.list(top=10)).items) == 4
