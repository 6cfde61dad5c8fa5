"""Deleted items: what Entra keeps for 30 days comes back whole; the rest is gone at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corestore.directory.app_roles import BY_VALUE
from corestore.directory.audits import AuditQuery
from corestore.errors import InvalidRequest, KeyTaken, NotFound
from corestore.retention import Retention, RetentionJob, purge_tenant
from corestore.session import TenantSession
from corestore.store import CoreStore
from scale_units.model.geography import Cloud, Geo

UPN = "ann@x.example"


async def test_a_deleted_user_is_invisible_until_restored_with_its_memberships(
    session: TenantSession,
) -> None:
    ann = await session.users.create(user_principal_name=UPN, display_name="Ann", password="Pw-1234567!")
    team = await session.groups.create(display_name="Team", mail_nickname="team", kind="microsoft365")
    await session.groups.add_member(team.id, ann.id)
    await session.users.delete(ann.id)

    with pytest.raises(NotFound):
        await session.users.get(ann.id)
    assert await session.users.count() == 0
    assert (await session.users.list(filter=f"userPrincipalName eq '{UPN}'")).items == ()
    assert (await session.groups.members(team.id)).items == ()
    page = await session.deleted_items.list("users", filter="startswith(displayName, 'An')", count=True)
    assert [(i.kind, i.record.id) for i in page.items] == [("users", ann.id)]
    assert page.total == 1
    assert (await session.deleted_items.list("users", filter="displayName eq 'Bob'")).items == ()
    assert (await session.deleted_items.get(ann.id)).deleted_at <= datetime.now(UTC)

    twin = await session.users.create(user_principal_name=UPN.upper(), display_name="Twin")
    with pytest.raises(KeyTaken, match="property userPrincipalName already exists"):
        await session.deleted_items.restore(ann.id)
    assert (await session.deleted_items.get(ann.id)).record.id == ann.id, "a refused restore keeps the item"
    await session.users.delete(twin.id)
    restored = await session.deleted_items.restore(ann.id)
    assert restored.record.id == ann.id
    assert (await session.users.get(ann.id)).user_principal_name == UPN
    assert [m.id for m in (await session.groups.members(team.id)).items] == [ann.id]
    with pytest.raises(NotFound):
        await session.deleted_items.get(ann.id)
    audits = await session.directory_audits.list(AuditQuery(target_id=str(ann.id)))
    names = [a.activity_display_name for a in audits.items]
    assert names[0] == "Restore user", "the restore's one record: its memberships write none"
    assert "Delete user" in names
    assert audits.items[0].operation_type == "Restore"


async def test_a_security_group_goes_at_once_and_a_microsoft_365_group_comes_back_whole(
    session: TenantSession,
) -> None:
    security = await session.groups.create(display_name="Sec", mail_nickname="sec")
    unified = await session.groups.create(display_name="M365", mail_nickname="m365", kind="microsoft365")
    member = await session.users.create(user_principal_name=UPN, display_name="Ann")
    await session.groups.add_member(unified.id, member.id)
    await session.groups.delete(security.id)
    await session.groups.delete(unified.id)
    with pytest.raises(NotFound):
        await session.deleted_items.get(security.id)
    assert [i.record.id for i in (await session.deleted_items.list("groups")).items] == [unified.id]
    await session.deleted_items.restore(unified.id)
    assert [m.id for m in (await session.groups.members(unified.id)).items] == [member.id]
    with pytest.raises(InvalidRequest, match="kinds"):
        await session.deleted_items.list("devices")


async def test_an_application_takes_its_principal_and_each_comes_back_on_its_own(
    session: TenantSession,
) -> None:
    app = await session.applications.create(display_name="App")
    await session.applications.add_secret(app.id)
    principal = await session.service_principals.by_app_id(app.app_id)
    assert principal is not None
    role = BY_VALUE["User.Read.All"].id
    assignments = session.app_role_assignments
    await assignments.assign(principal.id, assignments.graph_id, role)
    await session.applications.delete(app.id)
    kinds = {
        i.kind
        for k in ("applications", "service_principals")
        for i in (await session.deleted_items.list(k)).items
    }
    assert kinds == {"applications", "service_principals"}
    with pytest.raises(InvalidRequest):
        await session.deleted_items.restore(principal.id)  # its application is still deleted
    await session.deleted_items.restore(app.id)
    with pytest.raises(NotFound):
        await session.service_principals.get(principal.id)  # restoring the application does not restore it
    await session.deleted_items.restore(principal.id)
    assert [a.app_role_id for a in await assignments.of_principal(principal.id)] == [role]


async def test_a_permanent_delete_and_retention_leave_nothing_to_restore(session: TenantSession) -> None:
    users = [
        await session.users.create(user_principal_name=f"u{n}@x.example", display_name=f"U{n}")
        for n in range(4)
    ]
    for user in users:
        await session.users.delete(user.id)
    await session.deleted_items.delete(users[0].id)
    with pytest.raises(NotFound):
        await session.deleted_items.restore(users[0].id)
    hard = await session.directory_audits.list(AuditQuery(activity="Hard Delete user"))
    assert [a.target_resources[0]["id"] for a in hard.items] == [str(users[0].id)]

    now = datetime.now(UTC)
    kept = Retention(deleted_items=timedelta(days=30), audits=timedelta(days=30), batch=2)
    assert await purge_tenant(session, kept, now) == 0, "nothing is 30 days old"
    expired = Retention(deleted_items=timedelta(0), audits=timedelta(days=30), batch=2)
    assert await purge_tenant(session, expired, now) == 2, "a bounded batch"
    assert await purge_tenant(session, expired, now) == 1
    assert (await session.deleted_items.list("users")).items == ()
    assert await session.deleted_items.count("users") == 0


async def test_the_background_job_walks_its_geos_tenants_in_bounded_rounds(
    store: CoreStore, session: TenantSession
) -> None:
    """Rounds of at most 50 tenants each, wrapping round, until this tenant's expired item goes."""
    user = await session.users.create(user_principal_name=UPN, display_name="Ann")
    await session.users.delete(user.id)
    expired = Retention(deleted_items=timedelta(0), tenants_per_round=50, batch=10)
    job = RetentionJob(store.catalog(Cloud.PUBLIC), store.operator, Geo.EMEA, expired)
    rounds = 0
    while rounds < 40 and await session.deleted_items.count("users"):
        rounds += 1
        await job.round()
    assert await session.deleted_items.count("users") == 0, f"still there after {rounds} rounds"
    hard = await session.directory_audits.list(AuditQuery(activity="Hard Delete user"))
    assert hard.items[0].initiated_by == {"user": None, "app": None}, "the job acts as no one"
