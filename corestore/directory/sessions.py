"""Revoking a user's sign-in sessions, in the caller's transaction.

Every refresh token and authorization code of the user lives, hashed, in the
tenant's scale unit and is redeemed on its primary, so deleting them there stops
them on every front end at once. The user's `sign_in_sessions_valid_from` becomes
the transaction's `now()`: a grant that began before it (a code issued, then
redeemed while the revocation committed) is refused when it tries to record its
refresh token (`Grants.record_refresh` locks the user row to see it). Access tokens
already issued stay valid until they expire, as in Entra.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from corestore.errors import NotFound
from corestore.pools import Connection


async def revoke_sign_in_sessions(conn: Connection, tenant: uuid.UUID, user_id: uuid.UUID) -> datetime:
    """The user's sessions end now; the row is updated first, so it is locked before any delete."""
    since: datetime | None = await conn.fetchval(
        "UPDATE users SET sign_in_sessions_valid_from = now() WHERE tenant_id = $1 AND id = $2"
        " RETURNING sign_in_sessions_valid_from",
        tenant,
        user_id,
    )
    if since is None:
        raise NotFound(f"no user {user_id}")
    await conn.execute("DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2", tenant, user_id)
    await conn.execute(
        "DELETE FROM authorization_codes WHERE tenant_id = $1 AND user_id = $2", tenant, user_id
    )
    return since


async def sessions_valid(
    conn: Connection, tenant: uuid.UUID, user_id: uuid.UUID, since: datetime | None
) -> bool:
    """Whether the user may get a refresh token for a sign-in that began at `since` (None: now):
    the user exists, is enabled, and had no revocation after it. Locks the row until commit,
    so a revocation waits for this transaction, or this one sees the revocation."""
    row = await conn.fetchrow(
        "SELECT account_enabled, sign_in_sessions_valid_from AS valid_from FROM users"
        " WHERE tenant_id = $1 AND id = $2 FOR SHARE",
        tenant,
        user_id,
    )
    if row is None or not row["account_enabled"]:
        return False
    return since is None or row["valid_from"] is None or row["valid_from"] <= since
