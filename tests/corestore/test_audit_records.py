"""Audit records are written by the change's own transaction: none without its change."""

from __future__ import annotations

import pytest

from corestore.directory.audits import AuditQuery
from corestore.errors import Conflict
from corestore.session import TenantSession
from corestore.types import Actor


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
