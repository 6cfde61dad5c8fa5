"""The residency audit holds every copy to the component table: a planted copy of each kind is caught."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest
from typer.testing import CliRunner

from auth_service.keys.store import KeyStore
from corestore.residency.audit import Audit, run_audit
from corestore.roles import dsn
from corestore.session import TenantSession
from corestore.store import CoreStore
from corestore.types import Tenant
from devtools.cli import app
from scale_units.model.geography import Cloud
from scale_units.model.residency import Component
from scale_units.registry import log_path
from scale_units.state import ClusterState
from tests.conftest import log_sign_in


@pytest.fixture
async def planted(
    cluster: ClusterState, session: TenantSession, tenant: Tenant
) -> AsyncIterator[tuple[uuid.UUID, uuid.UUID]]:
    """Tenant rows copied by hand to the North American primary, and a row of a tenant nobody knows."""
    await session.users.create(user_principal_name=f"eve@{tenant.domains[0]}", display_name="Eve")
    stray = uuid.uuid4()
    source = await asyncpg.connect(
        dsn(cluster, cluster.discover().scale_units["emea-1"].primary, "superuser")
    )
    target = await asyncpg.connect(dsn(cluster, cluster.discover().scale_units["na-1"].primary, "superuser"))
    try:
        for table in ("tenants", "users"):
            rows = await source.fetch(f"SELECT * FROM {table} WHERE tenant_id = $1", tenant.id.value)
            await target.copy_records_to_table(
                table, records=[tuple(r.values()) for r in rows], columns=list(rows[0].keys())
            )
        await target.execute(
            "INSERT INTO tenants (tenant_id, display_name, country) VALUES ($1, 'x', 'US')", stray
        )
        yield tenant.id.value, stray
    finally:
        await target.execute(
            "DELETE FROM tenants WHERE tenant_id = ANY($1::uuid[])", [tenant.id.value, stray]
        )
        await source.close()
        await target.close()


async def test_planted_violation_is_caught_on_primary_and_replica(
    cluster: ClusterState, planted: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant_id, stray = planted
    units = cluster.planned_topology.scale_units
    for _ in range(50):  # the replicas replay the planted rows within moments
        audit = await run_audit(cluster, cluster.discover())
        if len({f.holding.where for f in audit.findings if f.holding.tenant_id == stray}) == len(
            units["na-1"].servers
        ):
            break
        await asyncio.sleep(0.05)
    outside = {(f.holding.where, f.kind) for f in audit.findings if f.holding.tenant_id == tenant_id}
    assert ("na-1-eastus", "outside-geo") in outside
    assert {f.kind for f in audit.findings if f.holding.tenant_id == stray} == {"unknown-tenant"}
    assert {h.where for h in audit.of(tenant_id) if h.geo == "emea"} == {
        s.name for s in units["emea-1"].servers
    }

    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["audit", "residency", "--dir", str(cluster.directory)]
    )
    assert result.exit_code == 1
    assert str(tenant_id) in result.output
    assert "outside-geo" in result.output


async def test_clean_tenant_report_lists_its_servers(
    cluster: ClusterState, session: TenantSession, tenant: Tenant
) -> None:
    await session.users.create(user_principal_name=f"f@{tenant.domains[0]}", display_name="F")
    audit = await run_audit(cluster, cluster.discover())
    assert not [f for f in audit.findings if f.holding.tenant_id == tenant.id.value]
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["audit", "residency", "--tenant", str(tenant.id), "--dir", str(cluster.directory)],
    )
    assert result.exit_code == 0
    assert "emea-1-westeurope" in result.output
    assert "westeurope" in result.output


async def _superuser(cluster: ClusterState, unit: str, database: str = "corestore") -> asyncpg.Connection:
    return await asyncpg.connect(
        dsn(cluster, cluster.discover().scale_units[unit].primary, "superuser", database)
    )


def _of(audit: Audit, component: Component) -> set[tuple[str, str]]:
    """(finding, where) of every finding about `component`."""
    return {(f.kind, f.holding.where) for f in audit.findings if f.holding.component is component}


async def test_sign_in_log_copied_out_of_its_unit_is_caught(
    cluster: ClusterState, store: CoreStore, session: TenantSession, tenant: Tenant
) -> None:
    await log_sign_in(store, session, "eve")
    source, target = await _superuser(cluster, "emea-1"), await _superuser(cluster, "na-1")
    try:
        rows = await source.fetch("SELECT * FROM sign_ins WHERE tenant_id = $1", tenant.id.value)
        async with target.transaction():
            await target.execute("SET LOCAL session_replication_role = replica")  # no FK to a tenant row
            await target.copy_records_to_table(
                "sign_ins", records=[tuple(r.values()) for r in rows], columns=list(rows[0].keys())
            )
        audit = await run_audit(cluster, cluster.discover())
        found = {(f.kind, f.holding.component, f.holding.where) for f in audit.findings}
        assert ("outside-geo", Component.SIGN_IN_LOGS, "na-1-eastus") in found
    finally:
        await target.execute("DELETE FROM sign_ins WHERE tenant_id = $1", tenant.id.value)
        await source.close()
        await target.close()


async def test_catalog_copy_outside_the_catalog_unit_is_caught(cluster: ClusterState, tenant: Tenant) -> None:
    conn = await _superuser(cluster, "emea-1", "postgres")
    try:
        await conn.execute("CREATE DATABASE corestore_catalog")
        copy = await _superuser(cluster, "emea-1", "corestore_catalog")
        try:
            await copy.execute("CREATE TABLE tenants (tenant_id uuid, geo text)")
            await copy.execute("INSERT INTO tenants VALUES ($1, 'emea')", tenant.id.value)
        finally:
            await copy.close()
        audit = await run_audit(cluster, cluster.discover())
        found = {(f.kind, f.holding.component, f.holding.where, f.holding.tenant_id) for f in audit.findings}
        assert ("outside-catalog-unit", Component.CATALOG, "emea-1-westeurope", tenant.id.value) in found
    finally:
        await conn.execute("DROP DATABASE IF EXISTS corestore_catalog WITH (FORCE)")
        await conn.close()


async def test_catalog_held_to_a_topology_that_keeps_it_in_the_geo(
    cluster: ClusterState, tenant: Tenant
) -> None:
    """The default declares the catalog's exception; a topology that declines it has EMEA entries flagged."""
    mine = [
        f
        for f in (await run_audit(cluster, cluster.discover())).findings
        if f.holding.tenant_id == tenant.id.value
    ]
    assert mine == []
    strict = '\n[residency.geo-located.catalog]\nstored = "tenant-geo"\n'
    strict_state = replace(cluster, topology_toml=cluster.topology_toml + strict)
    audit = await run_audit(strict_state, strict_state.discover())
    found = {(f.kind, f.holding.where) for f in audit.findings if f.holding.tenant_id == tenant.id.value}
    assert found == {("outside-geo", s.name) for s in cluster.planned_topology.scale_units["na-1"].servers}


async def test_wal_streamed_outside_its_unit_is_caught(cluster: ClusterState) -> None:
    conn = await _superuser(cluster, "emea-1", "postgres")
    try:
        await conn.execute("SELECT pg_create_physical_replication_slot('na_1_eastus')")
        audit = await run_audit(cluster, cluster.discover())
        found = {(f.kind, f.holding.component, f.holding.where, f.holding.what) for f in audit.findings}
        assert ("undeclared-copy", Component.WAL, "emea-1-westeurope", "na_1_eastus") in found
    finally:
        await conn.execute("SELECT pg_drop_replication_slot('na_1_eastus')")
        await conn.close()


async def test_a_signing_key_in_another_clouds_ring_is_caught(cluster: ClusterState) -> None:
    keys = cluster.directory / "keys"
    KeyStore(keys).ring(Cloud.PUBLIC)
    copy = keys / "usgov.json"
    try:
        shutil.copy(keys / "public.json", copy)
        audit = await run_audit(cluster, cluster.discover())
        assert ("undeclared-copy", "keys/usgov.json") in _of(audit, Component.SIGNING_KEYS)
    finally:
        copy.unlink(missing_ok=True)
    assert not _of(await run_audit(cluster, cluster.discover()), Component.SIGNING_KEYS)


async def test_residency_report_names_every_component_and_place(
    cluster: ClusterState, session: TenantSession, tenant: Tenant
) -> None:
    await session.users.create(user_principal_name=f"r@{tenant.domains[0]}", display_name="R")
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["residency", "report", "--tenant", str(tenant.id), "--json", "--dir", str(cluster.directory)],
    )
    assert result.exit_code == 0, result.output
    report = {c["component"]: c for c in json.loads(result.output)["components"]}
    assert set(report) == {c.value for c in Component}
    directory = {loc["where"] for loc in report["directory-objects"]["locations"]}
    assert directory == {s.name for s in cluster.planned_topology.scale_units["emea-1"].servers}
    assert "users" in report["directory-objects"]["locations"][0]["what"]
    assert report["catalog"]["exception"], "the catalog's place beyond the geo is a declared exception"
    assert {loc["region"] for loc in report["front-end-logs-and-state"]["locations"]} == {
        "westeurope",
        "northeurope",
    }
    assert all(loc["where"].endswith("pg_wal") for loc in report["wal-and-backups"]["locations"])
    table = await asyncio.to_thread(
        CliRunner().invoke, app, ["residency", "report", "--dir", str(cluster.directory)]
    )
    assert table.exit_code == 0
    assert "catalog-unit" in table.output


async def test_a_front_end_log_naming_another_geos_tenant_is_caught(
    cluster: ClusterState, tenant: Tenant
) -> None:
    log = log_path(cluster.directory, "eastus", 1)
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        log.write_text(f"2026-11-22 sign-in failed for tenant {tenant.id}\n")
        audit = await run_audit(cluster, cluster.discover())
        assert ("outside-geo", "logs/frontends/eastus-1.log") in _of(audit, Component.FRONT_END)
        log.write_text(f"2026-11-22 a line about tenant {uuid.uuid4()}\n")
        assert not _of(await run_audit(cluster, cluster.discover()), Component.FRONT_END), (
            "ids of no tenant are not findings"
        )
    finally:
        log.unlink(missing_ok=True)
