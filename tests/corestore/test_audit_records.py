"""Audit records are written by the change's own transaction: none without its change."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from corestore.directory.audits import AuditQuery
from corestore.errors import Conflict
from corestore.retention import Retention, purge_tenant
from corestore.roles import dsn
from corestore.session import TenantSession
from corestore.store import CoreStore
from corestore.types import Actor
from scale_units.state import ClusterState

OLD = (
    "INSERT INTO directory_audits (tenant_id, id, activity_at, activity_display_name, category,"
    " operation_type, initiated_by, target_resources)"
    " SELECT $1, gen_random_uuid(), now() - $2 * interval '1 day', 'Add device', 'DeviceManagement', 'Add',"
    " '{}'::jsonb, $3::jsonb FROM generate_series(1, $4)"
)


async def test_each_change_has_one_record_and_a_refused_change_none(session: TenantSession) -> None:
    user = await session.users.create(
        user_principal_name="ann@x.example", display_name="Ann", password="Pw-1234567!"
    )
    session.actor = Actor(user_id=user.id)
    await session.users.update(user.id, {"display_name": "Anne", "password": "Pw-7654321!"})
    with pytest.raises(Conflict):
        await session.users.create(user_principal_name="ANN@x.example", display_name="Twin")
    page = await session.directory_audits.list(AuditQuery(target_id=str(user.id)))
    names = [a.activity_display_name for a in page.items]
    assert names == ["Update StsRefreshTokenValidFrom Timestamp", "Reset user password", "Add user"]
    added = await session.directory_audits.list(AuditQuery(activity="Add user"))
    assert len(added.items) == 1, "the refused create left no record"
    reset = page.items[1]
    assert reset.initiated_by["user"] == {"id": str(user.id), "userPrincipalName": "ann@x.example"}
    changed = {p["displayName"]: p for p in reset.target_resources[0]["modifiedProperties"]}
    assert changed["DisplayName"]["oldValue"] == '"Ann"'
    assert changed["DisplayName"]["newValue"] == '"Anne"'
    assert not any("password" in name.lower() or "hash" in name.lower() for name in changed)
    assert page.items[2].initiated_by == {"user": None, "app": None}, "the operator acts as no one"


async def test_expired_records_go_a_bounded_batch_per_round(
    cluster: ClusterState, store: CoreStore, session: TenantSession
) -> None:
    """Written as if 40 (expired) and 20 days ago (kept, under the default 30); one round of the
    retention job removes at most its batch of expired records, oldest first."""
    conn = await asyncpg.connect(dsn(cluster, store.topology.scale_units["emea-1"].primary, "app"))
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('corestore.tenant_id', $1, true)", str(session.tenant_id))
            target = json.dumps([{"id": str(uuid.uuid4())}])
            await conn.execute(OLD, session.tenant_id, 40, target, 15)
            await conn.execute(OLD, session.tenant_id, 20, target, 1)
    finally:
        await conn.close()
    await session.devices.create(display_name="Phone", operating_system="iOS")
    assert await purge_tenant(session, Retention(batch=10), datetime.now(UTC)) == 10
    left = await session.directory_audits.list(AuditQuery(activity="Add device"), top=100)
    ages = sorted(round((left.items[0].activity_at - a.activity_at).days) for a in left.items)
    assert len(left.items) == 1 + 1 + 5, "the new record, the kept one, and five of the fifteen expired"
    assert ages[:2] == [0, 20]
