"""The residency audit catches a row planted outside its tenant's geo, and rows of unknown tenants."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from typer.testing import CliRunner

from auth_service.cli import app
from corestore.audit import run_audit
from corestore.session import TenantSession
from corestore.types import Tenant
from scale_units.state import ClusterState


@pytest.fixture
async def planted(
    cluster: ClusterState, session: TenantSession, tenant: Tenant
) -> AsyncIterator[tuple[uuid.UUID, uuid.UUID]]:
    """Tenant rows copied by hand to the North American primary, and a row of a tenant nobody knows."""
    await session.users.create(user_principal_name=f"eve@{tenant.domains[0]}", display_name="Eve")
    stray = uuid.uuid4()
    source = await asyncpg.connect(cluster.dsn(cluster.topology.scale_units["emea-1"].primary, "superuser"))
    target = await asyncpg.connect(cluster.dsn(cluster.topology.scale_units["na-1"].primary, "superuser"))
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
        audit = await run_audit(cluster)
        if len({f.holding.server for f in audit.findings if f.holding.tenant_id == stray}) == len(
            units["na-1"].servers
        ):
            break
        await asyncio.sleep(0.05)
    outside = {(f.holding.server, f.kind) for f in audit.findings if f.holding.tenant_id == tenant_id}
    assert ("na-1-eastus", "outside-geo") in outside
    assert {f.kind for f in audit.findings if f.holding.tenant_id == stray} == {"unknown-tenant"}
    assert {h.server for h in audit.of(tenant_id) if h.geo == "emea"} == {
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
    audit = await run_audit(cluster)
    assert not [f for f in audit.findings if f.holding.tenant_id == tenant.id.value]
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["audit", "residency", "--tenant", str(tenant.id), "--dir", str(cluster.directory)],
    )
    assert result.exit_code == 0
    assert "emea-1-westeurope" in result.output
    assert "westeurope" in result.output
