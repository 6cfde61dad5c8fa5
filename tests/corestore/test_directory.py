"""Directory objects: CRUD, conflicts, paging, filters, ETags, memberships, secrets, devices."""

from __future__ import annotations

import pytest

from corestore.errors import Conflict, InvalidRequest, NotFound, PreconditionFailed
from corestore.passwords import verify_password
from corestore.session import TenantSession
from corestore.types import Tenant


def upn(tenant: Tenant, name: str) -> str:
    return f"{name}@{tenant.domains[0]}"


async def test_user_lifecycle(session: TenantSession, tenant: Tenant) -> None:
    user = await session.users.create(
        user_principal_name=upn(tenant, "alice"),
        display_name="Alice",
        password="correct horse",
        extension={"employeeId": 42},
    )
    assert (await session.users.get(user.id)).display_name == "Alice"
    assert (await session.users.resolve(upn(tenant, "ALICE"))).id == user.id
    found = await session.users.credentials(upn(tenant, "alice"))
    assert found is not None
    assert await verify_password(found[1], "correct horse")
    assert not await verify_password(found[1], "wrong")
    updated = await session.users.update(user.id, {"display_name": "Alice B"}, if_version=user.version)
    assert updated.version == user.version + 1
    with pytest.raises(PreconditionFailed):
        await session.users.update(user.id, {"display_name": "stale"}, if_version=user.version)
    await session.users.delete(user.id)
    with pytest.raises(NotFound):
        await session.users.get(user.id)


async def test_duplicate_principal_name_is_a_conflict_case_insensitively(
    session: TenantSession, tenant: Tenant
) -> None:
    await session.users.create(user_principal_name=upn(tenant, "bob"), display_name="Bob")
    with pytest.raises(Conflict):
        await session.users.create(user_principal_name=upn(tenant, "BOB"), display_name="Bob 2")
    assert len((await session.users.list()).items) == 1


@pytest.mark.parametrize(
    "values",
    [
        {"user_principal_name": "no-at-sign", "display_name": "x"},
        {"user_principal_name": "a@b.example"},
        {"user_principal_name": "a@b.example", "display_name": ""},
        {"user_principal_name": "a@b.example", "display_name": "x" * 300},
        {"user_principal_name": "a@b.example", "display_name": "x", "account_enabled": "yes"},
        {"user_principal_name": "a@b.example", "display_name": "x", "is_admin": True},
        {"user_principal_name": "a@b.example", "display_name": "x", "password_hash": "forged"},
        {"user_principal_name": "a@b.example", "display_name": "x\x00y"},
    ],
)
async def test_bad_input_is_refused_and_nothing_written(
    session: TenantSession, values: dict[str, object]
) -> None:
    with pytest.raises(InvalidRequest):
        await session.users.create(**values)
    assert (await session.users.list()).items == ()


async def test_keyset_paging_and_filters(session: TenantSession, tenant: Tenant) -> None:
    for i in range(7):
        await session.users.create(
            user_principal_name=upn(tenant, f"user{i}"), display_name=f"User {i}", account_enabled=i % 2 == 0
        )
    seen, after = [], None
    while True:
        page = await session.users.list(top=3, after=after)
        seen += [u.id for u in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen)
    enabled = await session.users.list(filter="accountEnabled eq true")
    assert len(enabled.items) == 4
    some = await session.users.list(filter="startswith(displayName, 'User 1') or displayName eq 'User 6'")
    assert sorted(u.display_name for u in some.items) == ["User 1", "User 6"]
    by_upn = await session.users.list(filter=f"userPrincipalName eq '{upn(tenant, 'USER3')}'")
    assert [u.display_name for u in by_upn.items] == ["User 3"]
    with pytest.raises(InvalidRequest):
        await session.users.list(filter="passwordHash eq 'x'")
    with pytest.raises(InvalidRequest):
        await session.users.list(filter="displayName eq 'x' or 1=1 --")


async def test_nested_groups_transitive_members_and_member_of(session: TenantSession, tenant: Tenant) -> None:
    alice = await session.users.create(user_principal_name=upn(tenant, "alice"), display_name="Alice")
    outer = await session.groups.create(display_name="Outer", mail_nickname="outer")
    inner = await session.groups.create(display_name="Inner", mail_nickname="inner", kind="microsoft365")
    await session.groups.add_member(inner.id, alice.id)
    await session.groups.add_member(outer.id, inner.id)
    assert {m.id for m in (await session.groups.members(outer.id)).items} == {inner.id}
    assert {m.id for m in (await session.groups.members(outer.id, transitive=True)).items} == {
        inner.id,
        alice.id,
    }
    assert {g.id for g in (await session.groups.member_of(alice.id)).items} == {inner.id}
    assert {g.id for g in (await session.groups.member_of(alice.id, transitive=True)).items} == {
        inner.id,
        outer.id,
    }
    with pytest.raises(Conflict):
        await session.groups.add_member(inner.id, alice.id)
    with pytest.raises(InvalidRequest, match="cycle"):
        await session.groups.add_member(inner.id, outer.id)
    await session.groups.remove_member(inner.id, alice.id)
    assert (await session.groups.member_of(alice.id, transitive=True)).items == ()
    with pytest.raises(NotFound):
        await session.groups.remove_member(inner.id, alice.id)


async def test_client_secret_is_shown_once_and_verifies(session: TenantSession) -> None:
    app = await session.applications.create(display_name="Daemon")
    principal = await session.service_principals.by_app_id(app.app_id)
    assert principal is not None
    secret = await session.applications.add_secret(app.id)
    assert len(secret.secret_text) >= 40
    verified = await session.applications.verify_client_secret(app.app_id, secret.secret_text)
    assert verified is not None
    assert verified.principal.id == principal.id
    assert verified.app_role_ids == ()  # nothing assigned, no roles
    assert await session.applications.verify_client_secret(app.app_id, secret.secret_text + "x") is None
    assert await session.applications.verify_client_secret("not-a-guid", secret.secret_text) is None
    await session.service_principals.update(principal.id, {"account_enabled": False})
    assert await session.applications.verify_client_secret(app.app_id, secret.secret_text) is None


async def test_device_owner_is_cleared_when_user_goes(session: TenantSession, tenant: Tenant) -> None:
    owner = await session.users.create(user_principal_name=upn(tenant, "o"), display_name="O")
    device = await session.devices.create(
        display_name="Laptop", operating_system="Windows", owner_id=owner.id
    )
    assert device.trust_type == "AzureAd"
    await session.users.delete(owner.id)
    assert (await session.devices.get(device.id)).owner_id is None
    with pytest.raises(InvalidRequest):
        await session.devices.create(display_name="X", operating_system="Linux", trust_type="Bogus")
