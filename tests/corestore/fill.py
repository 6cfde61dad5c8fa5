"""A tenant with at least one row in every directory table, for tests that must cover them all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from corestore.directory.app_roles import BY_VALUE
from corestore.directory.grants import CodeGrant
from corestore.directory.key_credentials import KeyInput
from corestore.session import TenantSession
from corestore.store import CoreStore
from tests.certificates import certificate, der, rsa_key
from tests.conftest import log_sign_in


async def fill_every_table(store: CoreStore, session: TenantSession, tag: str) -> dict[str, uuid.UUID]:
    """At least one row in every directory table for this tenant."""
    user = await session.users.create(user_principal_name=f"{tag}@{tag}.example", display_name=tag)
    group = await session.groups.create(display_name=tag, mail_nickname=tag)
    await session.groups.add_member(group.id, user.id)
    app = await session.applications.create(display_name=tag)
    await session.applications.add_secret(app.id)
    await session.applications.update(
        app.id, {"key_credentials": [KeyInput(der(certificate(rsa_key(), tag)))]}
    )
    await session.client_assertions.first_use(str(app.app_id), tag, datetime.now(UTC) + timedelta(minutes=5))
    principal = await session.service_principals.by_app_id(app.app_id)
    assert principal is not None
    assignments = session.app_role_assignments
    await assignments.assign(principal.id, assignments.graph_id, BY_VALUE["User.Read.All"].id)
    device = await session.devices.create(display_name=tag, operating_system="iOS", owner_id=user.id)
    await log_sign_in(store, session, tag)
    await session.grants.set_redirect_uris(app.id, "spa", [f"https://{tag}.example/cb"])
    await session.grants.issue_code(
        CodeGrant(app.app_id, user.id, f"https://{tag}.example/cb", "spa", None, None, "openid")
    )
    await session.grants.record_refresh(tag, user.id, str(app.app_id), timedelta(days=1))
    gone = await session.users.create(user_principal_name=f"gone.{tag}@{tag}.example", display_name=tag)
    await session.users.delete(gone.id)  # a row in deleted_items
    return {
        "user": user.id,
        "group": group.id,
        "application": app.id,
        "device": device.id,
        "deleted": gone.id,
    }
