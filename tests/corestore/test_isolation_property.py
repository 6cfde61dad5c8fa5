"""Property: random operations of three tenants, each also aiming at the others' objects, never
reach across: a foreign id is NotFound to every operation, and each tenant sees exactly what it
made and has not deleted. Every outcome is checked against a model: nothing is swallowed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from corestore.errors import Conflict, NotFound
from corestore.session import TenantSession
from corestore.store import CoreStore

NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=4)
PICK = st.integers(0, 20)
OPERATION = st.one_of(
    st.tuples(st.just("user"), NAMES),
    st.tuples(st.just("group"), NAMES),
    st.tuples(st.just("delete"), PICK),
    st.tuples(st.just("member"), PICK, PICK),
    # Aimed at tenant (index + 1 + offset) % 3: another tenant, never the caller's own.
    st.tuples(st.just("foreign delete"), st.integers(0, 1), PICK),
    st.tuples(st.just("foreign rename"), st.integers(0, 1), PICK),
    st.tuples(st.just("foreign member"), st.integers(0, 1), PICK, PICK),
)
PLANS = st.lists(st.tuples(st.integers(0, 2), OPERATION), min_size=1, max_size=25)


@dataclass
class Model:
    """What one tenant made: live objects by kind, names taken, memberships."""

    users: dict[uuid.UUID, str] = field(default_factory=dict)
    groups: dict[uuid.UUID, str] = field(default_factory=dict)
    members: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)

    def pick(self, kind: dict[uuid.UUID, str], n: int) -> uuid.UUID | None:
        ids = sorted(kind)
        return ids[n % len(ids)] if ids else None

    def any_object(self, n: int) -> uuid.UUID | None:
        ids = sorted(self.users) + sorted(self.groups)
        return ids[n % len(ids)] if ids else None


async def _apply(session: TenantSession, model: Model, op: tuple[Any, ...], domain: str) -> None:
    kind = op[0]
    if kind == "user":
        if op[1] in model.users.values():
            with pytest.raises(Conflict):
                await session.users.create(user_principal_name=f"{op[1]}@{domain}", display_name=op[1])
        else:
            user = await session.users.create(user_principal_name=f"{op[1]}@{domain}", display_name=op[1])
            model.users[user.id] = op[1]
    elif kind == "group":
        if op[1] in model.groups.values():  # mailNickname is unique in a tenant, as in Entra
            with pytest.raises(Conflict):
                await session.groups.create(display_name=op[1], mail_nickname=op[1])
        else:
            group = await session.groups.create(display_name=op[1], mail_nickname=op[1])
            model.groups[group.id] = op[1]
    elif kind == "delete" and (target := model.any_object(op[1])) is not None:
        repo = session.users if target in model.users else session.groups
        await repo.delete(target)
        model.users.pop(target, None)
        model.groups.pop(target, None)
        model.members = {(g, m) for g, m in model.members if target not in (g, m)}
    elif kind == "member":
        gid, uid = model.pick(model.groups, op[1]), model.pick(model.users, op[2])
        if gid is None or uid is None:
            return
        if (gid, uid) in model.members:
            with pytest.raises(Conflict):
                await session.groups.add_member(gid, uid)
        else:
            await session.groups.add_member(gid, uid)
            model.members.add((gid, uid))


async def _attack(session: TenantSession, own: Model, other: Model, op: tuple[Any, ...]) -> None:
    """An operation on another tenant's object: NotFound, as if the id did not exist."""
    kind, target = op[0], other.any_object(op[2])
    if target is None:
        return
    repo = session.users if target in other.users else session.groups
    if kind == "foreign delete":
        with pytest.raises(NotFound):
            await repo.delete(target)
    elif kind == "foreign rename":
        with pytest.raises(NotFound):
            await repo.update(target, {"display_name": "stolen"})
    elif kind == "foreign member":
        mine = own.pick(own.groups, op[3])
        foreign_group = other.pick(other.groups, op[3])
        if mine is not None:
            with pytest.raises(NotFound):
                await session.groups.add_member(mine, target)  # their object into my group
        if foreign_group is not None and (my_user := own.pick(own.users, op[3])) is not None:
            with pytest.raises(NotFound):
                await session.groups.add_member(foreign_group, my_user)  # me into their group


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=PLANS)
# Each attack at least once, whatever the random plans hold: tenant 1 owns a user, tenant 0 a group.
@example(
    plan=[
        (1, ("user", "a")),
        (1, ("group", "b")),
        (0, ("user", "c")),
        (0, ("group", "d")),
        (0, ("group", "d")),  # a taken mailNickname: a Conflict, nothing written
        (0, ("foreign member", 0, 0, 0)),
        (0, ("foreign rename", 0, 0)),
        (0, ("foreign delete", 0, 0)),
    ]
)
async def test_random_operations_never_cross_tenants(
    store: CoreStore, plan: list[tuple[int, tuple[Any, ...]]]
) -> None:
    tenants = [await store.operator.create_tenant(f"p{uuid.uuid4().hex[:8]}", "FR") for _ in range(3)]
    sessions = [await store.operator.session(t.id) for t in tenants]
    models = [Model(), Model(), Model()]
    for index, op in plan:
        if op[0].startswith("foreign"):
            victim = (index + 1 + op[1]) % 3
            await _attack(sessions[index], models[index], models[victim], op)
        else:
            await _apply(sessions[index], models[index], op, f"t{index}.example")
    for index, session in enumerate(sessions):
        model = models[index]
        users = {u.id: u.display_name for u in (await session.users.list(top=999)).items}
        assert users == model.users, "exactly its own live users, none renamed by another tenant"
        assert {g.id for g in (await session.groups.list(top=999)).items} == set(model.groups)
        for group in model.groups:
            members = {m.id for m in (await session.groups.members(group, top=999)).items}
            assert members == {m for g, m in model.members if g == group}, "no foreign member"
        others = {
            oid for j, other in enumerate(models) if j != index for oid in (*other.users, *other.groups)
        }
        for oid in others:
            for repo in (session.users, session.groups):
                with pytest.raises(NotFound):
                    await repo.get(oid)
    for tenant in tenants:
        await store.operator.delete_tenant(tenant.id)
