"""Bad input gets a clear error and changes nothing; a drain empties a unit."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid

import pytest

from corestore.errors import InvalidRequest, LocationImmutable, MoveInProgress, TenantNotFound
from corestore.moves.ledger import exclusive
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.model.geography import Cloud
from scale_units.state import ClusterState
from tests.moves.conftest import other_unit


async def _placement(store: CoreStore, tenant: Tenant) -> str:
    store.catalog(Cloud.PUBLIC).forget(tenant.id.value)
    return (await store.placement(tenant.id.value, Cloud.PUBLIC)).scale_unit


async def test_unknown_tenant_unknown_unit_and_the_same_unit_are_refused(
    units_store: CoreStore, moving: Tenant
) -> None:
    here = moving.placement.scale_unit
    with pytest.raises(TenantNotFound):
        await units_store.operator.move_tenant(uuid.uuid4(), here)
    with pytest.raises(InvalidRequest, match="no scale unit 'emea-9'"):
        await units_store.operator.move_tenant(moving.id, "emea-9")
    with pytest.raises(InvalidRequest, match=f"already on {here}"):
        await units_store.operator.move_tenant(moving.id, here)
    with pytest.raises(InvalidRequest, match="a copy rate must be positive"):
        await units_store.operator.move_tenant(moving.id, other_unit(here), copy_mib_s=-1.0)
    assert await _placement(units_store, moving) == here


async def test_a_draining_unit_and_a_running_move_are_refused(units_store: CoreStore, moving: Tenant) -> None:
    here, there = moving.placement.scale_unit, other_unit(moving.placement.scale_unit)
    await units_store.operator.set_unit_draining(there)
    try:
        with pytest.raises(InvalidRequest, match=f"{there} is draining"):
            await units_store.operator.move_tenant(moving.id, there)
    finally:
        await units_store.operator.set_unit_draining(there, draining=False)
    async with exclusive(units_store.catalog(Cloud.PUBLIC), moving.id.value):  # a mover at work
        with pytest.raises(MoveInProgress):
            await units_store.operator.move_tenant(moving.id, there)
    assert await _placement(units_store, moving) == here


async def test_a_move_to_another_geo_is_refused_before_anything_is_copied(
    store: CoreStore, tenant: Tenant
) -> None:
    with pytest.raises(LocationImmutable, match="location cannot change after it is set"):
        await store.operator.move_tenant(tenant.id, "na-1")
    assert await _placement(store, tenant) == tenant.placement.scale_unit


async def test_the_command_moves_by_domain_and_drain_empties_a_unit(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "devtools", *args, "--dir", str(units_cluster.directory)]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)

    async def corestore(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run, *args)

    here, domain = moving.placement.scale_unit, moving.domains[0]
    there = other_unit(here)
    moved = await corestore("tenant", "move", domain, "--to", there, "--json")
    assert moved.returncode == 0, moved.stderr
    assert "fence" in moved.stdout
    last = json.loads(moved.stdout.strip().splitlines()[-1])
    assert (last["tenant"], last["from"], last["to"]) == (str(moving.id.value), here, there)
    assert {"rows", "bytes", "seconds", "fence_ms"} <= last.keys()

    try:
        drained = await corestore("cluster", "drain", there, "--json")
        assert drained.returncode == 0, drained.stderr
        reports = json.loads(drained.stdout.strip().splitlines()[-1])
        assert str(moving.id.value) in {r["tenant"] for r in reports}
        assert all(r["to"] == here for r in reports)
        placed = await units_store.operator.create_tenant(f"{domain}-after", "FR")
        assert placed.placement.scale_unit == here, "a draining unit takes no new tenant"
    finally:
        await units_store.operator.set_unit_draining(there, draining=False)
