"""The memory of client assertions already used: a `jti` is accepted once per client.

Kept on the tenant's primary (`client_assertions`, directory_0010), so a replay is refused
by every front end, whichever took the first use. A row lives until its assertion
expires; each use removes at most `PURGE_BATCH` of the tenant's expired rows in the same
transaction, so the memory stays the size of an assertion's lifetime of sign-ins and the
work per use is bounded. The `jti` is stored only hashed with its client id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from corestore.handle import TenantHandle

PURGE_BATCH = 100


class ClientAssertions:
    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    async def first_use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record `jti` as used by `client_id` until `expires_at`; False if it already was."""
        jti_hash = hashlib.sha256(f"{client_id}\n{jti}".encode()).digest()
        tenant = self.handle.tenant_id
        async with self.handle.write() as conn:
            await conn.execute(
                "DELETE FROM client_assertions WHERE tenant_id = $1 AND jti_hash IN (SELECT jti_hash"
                " FROM client_assertions WHERE tenant_id = $1 AND expires_at < now() LIMIT $2)",
                tenant,
                PURGE_BATCH,
            )
            inserted = await conn.fetchval(
                "INSERT INTO client_assertions (tenant_id, jti_hash, expires_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (tenant_id, jti_hash) DO NOTHING RETURNING true",
                tenant,
                jti_hash,
                expires_at,
            )
        return bool(inserted)
