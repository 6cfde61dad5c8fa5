"""Residency stays provable across a move: the report names the new unit, the audit is clean,
and rows left behind on the source are caught."""

from __future__ import annotations

from corestore.residency.audit import run_audit
from corestore.residency.report import tenant_report
from corestore.roles import DIRECTORY_DB
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.model.geography import Cloud
from scale_units.model.residency import Component
from scale_units.state import ClusterState
from tests.moves.conftest import other_unit


async def test_after_a_move_the_audit_is_clean_and_catches_rows_left_behind(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant, random_name: str
) -> None:
    session = await units_store.operator.session(moving.id)
    await session.users.create(user_principal_name=f"r@{random_name}.example", display_name="R")
    source = moving.placement.scale_unit
    target = other_unit(source)
    await units_store.operator.move_tenant(moving.id, target)
    topology = units_cluster.discover()

    audit = await run_audit(units_cluster, topology)
    assert not [f for f in audit.findings if f.holding.tenant_id == moving.id.value]
    home = await units_store.placement(moving.id.value, Cloud.PUBLIC)
    report = tenant_report(units_cluster, topology, audit, moving.id.value, home)
    objects = next(r for r in report if r.rule.component is Component.DIRECTORY_OBJECTS)
    assert {p.where for p in objects.locations} == {s.name for s in topology.scale_units[target].servers}

    primary = topology.scale_units[source].primary  # a leftover, as a failed clean-up could leave
    async with units_cluster.connect(primary, DIRECTORY_DB) as conn:
        await conn.execute(
            "INSERT INTO tenants (tenant_id, display_name, country) VALUES ($1, 'left', 'FR')",
            moving.id.value,
        )
        try:
            audit = await run_audit(units_cluster, topology)
        finally:
            await conn.execute("DELETE FROM tenants WHERE tenant_id = $1", moving.id.value)
    left = {(f.holding.where, f.kind) for f in audit.findings if f.holding.tenant_id == moving.id.value}
    assert (primary.name, "wrong-scale-unit") in left


async def test_a_moves_slot_is_a_declared_copy_in_the_tenants_geo(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant
) -> None:
    topology = units_cluster.discover()
    slot = f"move_{moving.id.value.hex}"  # as a move in flight holds it on the source's primary
    primary = topology.scale_units[moving.placement.scale_unit].primary
    async with units_cluster.connect(primary, DIRECTORY_DB) as conn:
        await conn.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", slot)
        try:
            audit = await run_audit(units_cluster, topology)
        finally:
            await conn.execute("SELECT pg_drop_replication_slot($1)", slot)
    held = [h for h in audit.of(moving.id.value) if h.component is Component.TENANT_MOVES]
    assert [(h.where, h.what) for h in held] == [(primary.name, f"replication slot {slot}")]
    assert not [f for f in audit.findings if f.holding.tenant_id == moving.id.value or slot in f.holding.what]
