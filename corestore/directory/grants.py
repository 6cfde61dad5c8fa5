"""The authorization server's state: redirect URIs, authorization codes, refresh-token families.

Kept in the tenant's own scale unit, so any front end redeems what another issued.
Codes and refresh tokens have full entropy and are stored only as SHA-256 digests.
A code is deleted by the statement that redeems it (single-use even when two
redemptions race); a refresh token is marked used by the one that redeems it, and
presenting it again deletes its whole family (the thief's tokens and the owner's
stop together). Expiry is the database's clock; revocation is `sessions.py`.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from corestore.directory.sessions import sessions_valid
from corestore.errors import InvalidRequest, NotFound
from corestore.handle import TenantHandle
from corestore.pools import Connection
from corestore.read_functions import call
from corestore.validation import parse_id

PLATFORMS = ("web", "spa", "publicClient")
CODE_LIFETIME = timedelta(minutes=10)
MAX_URI_CHARS = 256
MAX_URIS_PER_PLATFORM = 64
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Every shape a redirect URI may take, also the OpenAPI document's (auth_service.graph.bodies): https to a
# host name, http to loopback, an optional port, a path of printable ASCII without space or '#'; a
# public client may also use a scheme of its own (a native app's `myapp://auth`).
WEB_URI = re.compile(
    r"(https://[A-Za-z0-9.-]+|http://(localhost|127\.0\.0\.1|\[::1\]))(:[0-9]{1,5})?(/[!-\"$-~]*)?"
)
NATIVE_URI = re.compile(r"(?![Hh][Tt][Tt][Pp][Ss]?:)[A-Za-z][A-Za-z0-9+.-]*:[!-\"$-~]+")


@dataclass(frozen=True)
class ClientRegistration:
    """An application as the sign-in page sees it: enabled or not, and its redirect URIs."""

    enabled: bool
    redirect_uris: Mapping[str, str]  # exact URI -> platform

    def platform_of(self, redirect_uri: str) -> str | None:
        """Exact match only: no prefix, no case folding, no normalisation."""
        return self.redirect_uris.get(redirect_uri)


@dataclass(frozen=True)
class CodeGrant:
    """What a code was issued for; checked again, in full, when it is redeemed."""

    app_id: uuid.UUID
    user_id: uuid.UUID
    redirect_uri: str
    platform: str
    code_challenge: str | None
    nonce: str | None
    scope: str
    issued_at: datetime | None = field(default=None, compare=False)  # the store's clock, once stored


class Refresh(enum.Enum):
    ROTATED = "rotated"
    REPLAYED = "replayed"  # already used: the family is revoked
    CLIENT_REQUIRED = "client_required"  # a confidential client's token, presented without its secret
    UNKNOWN = "unknown"  # never issued, expired, or revoked


@dataclass(frozen=True)
class RefreshOutcome:
    result: Refresh
    family_id: uuid.UUID | None = None
    confidential: bool = False


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def check_redirect_uri(platform: str, uri: str) -> None:
    """As Entra: absolute, no fragment; https (http only on loopback) except for public clients,
    which may also use a custom scheme (a native app's `myapp://auth`)."""
    if platform not in PLATFORMS:
        raise InvalidRequest(f"platform must be one of {', '.join(PLATFORMS)}")
    if len(uri) > MAX_URI_CHARS or not uri.isprintable() or " " in uri:
        raise InvalidRequest(f"a redirect URI is at most {MAX_URI_CHARS} printable characters")
    parts = urlsplit(uri)
    if not parts.scheme or parts.fragment or "#" in uri:
        raise InvalidRequest(f"redirect URI {uri!r} must be absolute and have no fragment")
    web = parts.scheme in ("https", "http")
    if web and not parts.hostname:
        raise InvalidRequest(f"redirect URI {uri!r} has no host")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InvalidRequest(f"redirect URI {uri!r}: http is allowed on loopback only")
    if not web and platform != "publicClient":
        raise InvalidRequest(f"redirect URI {uri!r}: a {platform} redirect URI must be https")
    if not (WEB_URI.fullmatch(uri) or (platform == "publicClient" and NATIVE_URI.fullmatch(uri))):
        raise InvalidRequest(f"redirect URI {uri!r} is not a URI this directory accepts")


def check_redirect_uris(platform: str, uris: Sequence[str]) -> tuple[str, ...]:
    """One platform's redirect URIs, each checked, duplicates dropped, in the caller's order."""
    if platform not in PLATFORMS:
        raise InvalidRequest(f"platform must be one of {', '.join(PLATFORMS)}")
    if len(uris) > MAX_URIS_PER_PLATFORM:
        raise InvalidRequest(f"at most {MAX_URIS_PER_PLATFORM} redirect URIs per platform")
    for uri in uris:
        check_redirect_uri(platform, uri)
    return tuple(dict.fromkeys(uris))


async def replace_redirect_uris(
    conn: Connection, tenant: uuid.UUID, application_id: uuid.UUID, platform: str, uris: Sequence[str]
) -> None:
    """In the caller's transaction: the application's URIs of `platform` become `uris` (checked)."""
    await conn.execute(
        "DELETE FROM redirect_uris WHERE tenant_id = $1 AND application_id = $2 AND platform = $3",
        tenant,
        application_id,
        platform,
    )
    await conn.executemany(
        "INSERT INTO redirect_uris (tenant_id, application_id, platform, uri) VALUES ($1, $2, $3, $4)",
        [(tenant, application_id, platform, uri) for uri in uris],
    )


class Grants:
    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    async def set_redirect_uris(
        self, application_id: str | uuid.UUID, platform: str, uris: Sequence[str]
    ) -> None:
        """Replace the application's redirect URIs of one platform (all checked before any is written)."""
        checked = check_redirect_uris(platform, uris)
        aid = parse_id(application_id)
        tenant = self.handle.tenant_id
        async with self.handle.write() as conn:
            found = await conn.fetchval(
                "SELECT 1 FROM applications WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant, aid
            )
            if found is None:
                raise NotFound(f"no application {aid}")
            await replace_redirect_uris(conn, tenant, aid, platform, checked)

    async def client(self, app_id: str) -> ClientRegistration | None:
        """The application of `app_id` (its client id) in this tenant, or None: one statement."""
        try:
            aid = uuid.UUID(app_id)
        except ValueError:
            return None
        rows = await self.handle.fetch(call("client_registration"), self.handle.tenant_id, aid)
        if not rows:
            return None
        uris = {r["uri"]: r["platform"] for r in rows if r["uri"] is not None}
        return ClientRegistration(bool(rows[0]["account_enabled"]), uris)

    async def issue_code(self, grant: CodeGrant) -> str:
        """A new single-use code for `grant`; the user's expired codes go in the same transaction."""
        code = secrets.token_urlsafe(32)
        tenant = self.handle.tenant_id
        async with self.handle.write() as conn:
            await conn.execute(
                "DELETE FROM authorization_codes WHERE tenant_id = $1 AND user_id = $2"
                " AND expires_at < now()",
                tenant,
                grant.user_id,
            )
            await conn.execute(
                "INSERT INTO authorization_codes (tenant_id, code_hash, app_id, user_id, redirect_uri,"
                " platform, code_challenge, nonce, scope, expires_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + $10::interval)",
                tenant,
                digest(code),
                grant.app_id,
                grant.user_id,
                grant.redirect_uri,
                grant.platform,
                grant.code_challenge,
                grant.nonce,
                grant.scope,
                CODE_LIFETIME,
            )
        return code

    async def redeem_code(self, code: str) -> CodeGrant | None:
        """The grant of a live code, which is gone from now on; None if unknown, used or expired."""
        async with self.handle.write() as conn:
            row = await conn.fetchrow(
                "DELETE FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2"
                " RETURNING *, expires_at > now() AS live",
                self.handle.tenant_id,
                digest(code),
            )
        if row is None or not row["live"]:
            return None
        return CodeGrant(
            row["app_id"],
            row["user_id"],
            row["redirect_uri"],
            row["platform"],
            row["code_challenge"],
            row["nonce"],
            row["scope"],
            row["created_at"],
        )

    async def record_refresh(
        self,
        token: str,
        user_id: uuid.UUID,
        client_id: str | None,
        lifetime: timedelta,
        family_id: uuid.UUID | None = None,
        confidential: bool = False,
        since: datetime | None = None,
    ) -> uuid.UUID | None:
        """Remember a refresh token just issued, in `family_id` (a new family if None); a `confidential`
        client's token redeems only with the client authenticated. None, nothing recorded, if the
        user's sessions were revoked after `since` (when the sign-in began; None: now) or the family
        is gone (revoked, or replayed)."""
        family = family_id or uuid.uuid4()
        tenant = self.handle.tenant_id
        row = (tenant, digest(token), family, user_id, client_id, confidential, lifetime, family_id is None)
        async with self.handle.write() as conn:
            if not await sessions_valid(conn, tenant, user_id, since):
                return None
            await conn.execute(
                "DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2 AND expires_at < now()",
                tenant,
                user_id,
            )
            status = await conn.execute(
                "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, user_id, client_id,"
                " confidential, expires_at) SELECT $1::uuid, $2::bytea, $3::uuid, $4::uuid, $5::text,"
                " $6::boolean, now() + $7::interval WHERE $8::boolean"
                " OR EXISTS (SELECT 1 FROM refresh_tokens WHERE tenant_id = $1 AND family_id = $3)",
                *row,
            )
        return family if status == "INSERT 0 1" else None

    async def redeem_refresh(self, token: str, client_authenticated: bool = False) -> RefreshOutcome:
        """Use a refresh token once. A second use revokes every token of its family; a
        confidential client's token presented without the client's secret stays unused."""
        tenant, token_hash = self.handle.tenant_id, digest(token)
        async with self.handle.write() as conn:
            row = await conn.fetchrow(
                "UPDATE refresh_tokens SET used_at = now() WHERE tenant_id = $1 AND token_hash = $2"
                " AND used_at IS NULL AND expires_at > now() AND (NOT confidential OR $3)"
                " RETURNING family_id, confidential",
                tenant,
                token_hash,
                client_authenticated,
            )
            if row is not None:
                return RefreshOutcome(Refresh.ROTATED, row["family_id"], row["confidential"])
            waiting = await conn.fetchval(
                "SELECT family_id FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2"
                " AND used_at IS NULL AND expires_at > now()",
                tenant,
                token_hash,
            )
            if waiting is not None:
                return RefreshOutcome(Refresh.CLIENT_REQUIRED, waiting, True)
            revoked = await conn.fetchval(
                "WITH gone AS (DELETE FROM refresh_tokens WHERE tenant_id = $1 AND family_id ="
                " (SELECT family_id FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2"
                " AND used_at IS NOT NULL) RETURNING family_id) SELECT family_id FROM gone LIMIT 1",
                tenant,
                token_hash,
            )
        if revoked is not None:
            return RefreshOutcome(Refresh.REPLAYED, revoked)
        return RefreshOutcome(Refresh.UNKNOWN)

    async def revoke_refresh(self, user_id: uuid.UUID, client_id: str | None) -> int:
        """Sign-out: every refresh token the user holds for this client (all clients if None)."""
        async with self.handle.write() as conn:
            status = await conn.execute(
                "DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2"
                " AND ($3::text IS NULL OR client_id = $3::text)",
                self.handle.tenant_id,
                user_id,
                client_id,
            )
        return int(status.split()[-1])
