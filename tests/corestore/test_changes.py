"""Delta rounds in the store: nothing missed when transactions commit out of order, deletions as
tombstones, and the reads served by replicas (the snapshot is all a read needs). The token is a
snapshot xmin, so a round may send a change again (other transactions hold xmin back), never miss one."""

from __future__ import annotations

import uuid

from corestore.directory.changes import delta_page
from corestore.session import TenantSession
from corestore.types import Tenant

PASSWORD = "Delta-passw0rd!"


async def _round(session: TenantSession, since: int | None) -> tuple[dict[uuid.UUID, str | None], int]:
    """A whole round, page by page (2 a page): each object's display name, None if removed; the next token."""
    seen: dict[uuid.UUID, str | None] = {}
    page = await delta_page(session.users, since, top=2)
    token = page.snapshot
    while True:
        seen.update({c.id: None if c.record is None else c.record.display_name for c in page.changes})
        if page.next_after is None:
            return seen, token
        page = await delta_page(session.users, since, page.next_after, top=2)


async def test_a_transaction_that_commits_after_a_later_one_is_not_missed(
    session: TenantSession, tenant: Tenant
) -> None:
    early = await session.users.create(
        user_principal_name=f"early@{tenant.domains[0]}", display_name="early", password=PASSWORD
    )
    first, token = await _round(session, None)
    assert first[early.id] == "early"
    async with session.write() as slow:  # takes its transaction id first ...
        await slow.execute(
            "UPDATE users SET display_name = 'slow' WHERE tenant_id = $1 AND id = $2",
            session.tenant_id,
            early.id,
        )
        late = await session.users.create(  # ... and commits after this one
            user_principal_name=f"late@{tenant.domains[0]}", display_name="late", password=PASSWORD
        )
        middle, token = await _round(session, token)
        assert middle[late.id] == "late"
        assert middle.get(early.id, "early") == "early"  # maybe sent again; the update is not visible
    last, token = await _round(session, token)
    assert last.get(early.id) == "slow"  # the out-of-order commit comes in the next round


async def test_deletions_come_as_tombstones_and_rounds_go_to_replicas(
    session: TenantSession, tenant: Tenant
) -> None:
    users = [
        await session.users.create(
            user_principal_name=f"u{i}@{tenant.domains[0]}", display_name=f"u{i}", password=PASSWORD
        )
        for i in range(5)
    ]
    everything, token = await _round(session, None)
    assert set(everything) >= {u.id for u in users}
    assert session.last_server in {r.name for r in session.unit.replicas}
    await session.users.delete(users[0].id)
    await session.users.update(users[1].id, {"display_name": "renamed"})
    changed, token = await _round(session, token)
    assert {k: v for k, v in changed.items() if k in {users[0].id, users[1].id}} == {
        users[0].id: None,
        users[1].id: "renamed",
    }
    assert set(changed) <= {u.id for u in users}
    again, _ = await _round(session, token)  # a change may be sent twice, never a new one invented
    assert set(again) <= {users[0].id, users[1].id}
