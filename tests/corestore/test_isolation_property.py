"""Property: random operations of many tenants never see each other's rows."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corestore.errors import Conflict, NotFound
from corestore.store import CoreStore

NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=4)
OPERATION = st.one_of(
    st.tuples(st.just("user"), NAMES),
    st.tuples(st.just("group"), NAMES),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("member"), st.integers(0, 20), st.integers(0, 20)),
)
PLANS = st.lists(st.tuples(st.integers(0, 2), OPERATION), min_size=1, max_size=25)


async def _apply(session: Any, owned: list[uuid.UUID], op: tuple[Any, ...], domain: str) -> None:
    kind = op[0]
    if kind == "user":
        user = await session.users.create(user_principal_name=f"{op[1]}@{domain}", display_name=op[1])
        owned.append(user.id)
    elif kind == "group":
        group = await session.groups.create(display_name=op[1], mail_nickname=op[1])
        owned.append(group.id)
    elif kind == "delete" and owned:
        target = owned[op[1] % len(owned)]
        for repo in (session.users, session.groups):
            try:
                await repo.delete(target)
            except NotFound:
                continue
            break
    elif kind == "member" and owned:
        with contextlib.suppress(NotFound, Conflict, ValueError):
            await session.groups.add_member(owned[op[1] % len(owned)], owned[op[2] % len(owned)])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=PLANS)
async def test_random_operations_never_cross_tenants(
    store: CoreStore, plan: list[tuple[int, tuple[Any, ...]]]
) -> None:
    tenants = [await store.operator.create_tenant(f"p{uuid.uuid4().hex[:8]}", "FR") for _ in range(3)]
    sessions = [await store.operator.session(t.id) for t in tenants]
    owned: list[list[uuid.UUID]] = [[], [], []]
    for index, op in plan:
        with contextlib.suppress(Conflict):
            await _apply(sessions[index], owned[index], op, f"t{index}.example")
    for index, session in enumerate(sessions):
        visible = {u.id for u in (await session.users.list(top=999)).items}
        visible |= {g.id for g in (await session.groups.list(top=999)).items}
        others = {oid for j, ids in enumerate(owned) if j != index for oid in ids}
        assert not visible & others, "a tenant saw another tenant's objects"
        assert visible <= set(owned[index])
        for oid in others:
            for repo in (session.users, session.groups):
                try:
                    await repo.get(oid)
                except NotFound:
                    continue
                raise AssertionError(f"tenant {index} read {oid} of another tenant")
    for tenant in tenants:
        await store.operator.delete_tenant(tenant.id)
