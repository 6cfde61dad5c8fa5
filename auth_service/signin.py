"""Checking a user's password, once, for every way of signing in (token endpoint, sign-in page).

Failed sign-ins look the same whether or not the user exists: same message, same
argon2 work (a dummy hash stands in), the same per-user lockout, and each is logged
in the tenant's own scale unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auth_service.errors import InvalidGrant
from corestore.objects import User
from corestore.passwords import verify_password
from corestore.session import TenantSession

if TYPE_CHECKING:
    from auth_service.frontend import FrontEnd

BAD_CREDENTIALS = "AADSTS50126: Error validating credentials due to invalid username or password."


async def authenticate(
    frontend: FrontEnd, session: TenantSession, username: str, password: str, client: str | None
) -> User:
    """The enabled user whose password this is; `InvalidGrant` (uniform) or `AccountLocked` otherwise."""
    key = (session.tenant_id, username.lower())
    frontend.lockout.check(key)
    found = await session.users.credentials(username)
    user, stored = found if found is not None else (None, None)
    if not verify_password(stored, password) or user is None or not user.account_enabled:
        frontend.lockout.record_failure(key)
        await session.sign_ins.record(
            "failure", username, frontend.region, "invalid credentials", client_address=client
        )
        raise InvalidGrant(BAD_CREDENTIALS)
    frontend.lockout.record_success(key)
    await session.sign_ins.record("success", user.user_principal_name, frontend.region, None, user.id, client)
    return user
