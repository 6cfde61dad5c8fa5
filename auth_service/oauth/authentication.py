"""Who is signing in: the one password check behind the password grant and the sign-in page.

Failed sign-ins look the same whether or not the user exists: same message, same
argon2 work (a dummy hash stands in), same lockout, and each is logged in the tenant's
own scale unit (queued for the background writer, so a grant never waits for its row).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from auth_service.errors import InvalidGrant
from auth_service.oauth.lockout import LockoutPolicy
from corestore.objects import User
from corestore.passwords import needs_rehash, verify_password
from corestore.session import TenantSession
from corestore.sign_in_log import SignInRecord

# Queues a sign-in's log row (`SignInWriter.record`): never waits.
Record = Callable[[SignInRecord], None]


class Authentication:
    def __init__(self, lockout: LockoutPolicy, record: Record, region: str) -> None:
        self.lockout = lockout
        self.record = record
        self.region = region

    async def authenticate(
        self, session: TenantSession, username: str, password: str, client: str | None
    ) -> User:
        """The enabled user whose password this is, or `InvalidGrant` (or `AccountLocked`)."""
        key = (session.tenant_id, username.lower())
        self.lockout.check(key)
        found = await session.users.credentials(username)
        verified = await _verified(found, password)
        if not verified:
            # As AD sends a failed password to its PDC emulator: a user or password set moments
            # ago may not have reached this replica. The primary's answer is final.
            again = await session.users.credentials(username, on_primary=True)
            if again != found:
                found, verified = again, await _verified(again, password)
        user, stored = found if found is not None else (None, None)
        if not verified or user is None or not user.account_enabled:
            self.lockout.record_failure(key)
            self.log(session, client, "failure", username, reason="invalid credentials")
            raise InvalidGrant()
        self.lockout.record_success(key)
        if stored is not None and needs_rehash(stored):
            await session.users.update(user.id, {"password": password})
        self.log(session, client, "success", user.user_principal_name, principal_id=user.id)
        return user

    def log(
        self,
        session: TenantSession,
        client: str | None,
        result: str,
        principal: str,
        *,
        reason: str | None = None,
        principal_id: uuid.UUID | None = None,
    ) -> None:
        """Queue the sign-in's log row; the background writer commits it (the grant does not wait)."""
        self.record(
            SignInRecord(
                tenant_id=session.tenant_id,
                scale_unit=session.unit.id,
                created_at=datetime.now(UTC),
                result=result,
                principal=principal,
                region=self.region,
                reason=reason,
                principal_id=principal_id,
                client_address=client,
            )
        )


async def _verified(found: tuple[User, str | None] | None, password: str) -> bool:
    """Whether `password` is the found user's (always hashing, so a missing user costs as much)."""
    return await verify_password(None if found is None else found[1], password)
