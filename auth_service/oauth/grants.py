"""The token endpoint's grants, all four: password, client credentials, authorization code
(with PKCE) and rotating refresh tokens, and the one way user tokens are issued for them.

Every refresh token issued is recorded in its family in the tenant's scale unit
(`corestore.directory.grants`): redeeming one rotates it, and presenting it again
revokes the whole family. Codes are checked in full on redemption: the client, the
exact redirect URI, the PKCE verifier (S256), and for a `web` redirect URI the
client's secret or a client assertion (`oauth.assertions`), which that client's refresh
tokens then need too (a confidential client authenticates on every grant, RFC 6749
section 6).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from auth_service.errors import InvalidClient, InvalidGrant
from auth_service.oauth.aadsts import BAD_CODE, BAD_SECRET, REPLAYED, REVOKED, SECRET_REQUIRED, aadsts
from auth_service.oauth.assertions import authenticate_assertion
from auth_service.oauth.authentication import Authentication
from auth_service.oauth.issuance import Issuance
from auth_service.oauth.tokens import TokenVerifier
from corestore.directory.grants import CodeGrant, Refresh
from corestore.errors import NotFound
from corestore.objects import User
from corestore.session import TenantSession

CONFIDENTIAL_PLATFORMS = frozenset({"web"})


@dataclass(frozen=True)
class TokenRequest:
    """What the token endpoint was given, the client authenticated either way (post or basic), or by
    a client assertion meant for one of `audiences` (this endpoint's URLs)."""

    client_id: str | None
    client_secret: str | None
    scope: str | None
    client_info: bool
    client_assertion: str | None = None
    audiences: tuple[str, ...] = ()

    @property
    def authenticates(self) -> bool:
        """Whether the client presented a credential (checked before anything is spent)."""
        return self.client_secret is not None or self.client_assertion is not None


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _client_info(tenant_id: uuid.UUID, user: User) -> str:
    """MSAL's account key (`uid.utid`), as Entra returns it when asked with `client_info=1`."""
    raw = json.dumps({"uid": str(user.id), "utid": str(tenant_id)}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Grants:
    def __init__(self, authentication: Authentication, issuance: Issuance, verifier: TokenVerifier) -> None:
        self.authentication = authentication
        self.issuance = issuance
        self.verifier = verifier

    async def password(
        self,
        session: TenantSession,
        username: str | None,
        password: str | None,
        request: TokenRequest,
        client: str | None,
    ) -> dict[str, Any]:
        if not username or password is None:
            raise InvalidGrant("username and password are required")
        user = await self.authentication.authenticate(session, username, password, client)
        return await self.issue_user_tokens(session, user, request)

    async def client_credentials(
        self, session: TenantSession, request: TokenRequest, client: str | None
    ) -> dict[str, Any]:
        client_id, client_secret = request.client_id, request.client_secret
        log = self.authentication.log
        if request.client_assertion is not None:
            try:
                app = await authenticate_assertion(
                    session, client_id, request.client_assertion, request.audiences
                )
            except InvalidClient:
                log(session, client, "failure", client_id or "", reason="invalid client assertion")
                raise
            log(session, client, "success", str(app.principal.app_id), principal_id=app.principal.id)
            return self.issuance.app_tokens(session.tenant_id, app)
        if not client_id or not client_secret:
            raise InvalidGrant("client_id and client_secret (or a client_assertion) are required")
        found = await session.applications.verify_client_secret(client_id, client_secret)
        if found is None:
            log(session, client, "failure", client_id, reason="invalid client secret")
            raise InvalidGrant(BAD_SECRET)
        app = found
        log(session, client, "success", client_id, principal_id=app.principal.id)
        return self.issuance.app_tokens(session.tenant_id, app)

    async def issue_user_tokens(
        self,
        session: TenantSession,
        user: User,
        request: TokenRequest,
        *,
        family: uuid.UUID | None = None,
        nonce: str | None = None,
        confidential: bool = False,
        since: datetime | None = None,
    ) -> dict[str, Any]:
        """Access and refresh token (the refresh token recorded in `family`, or a new one); with
        `openid` in the scope and a client, an ID token; `client_info` when asked for. Refused if
        the user's sessions were revoked since the sign-in began (`since`) or the family is gone."""
        tokens = self.issuance.user_tokens(session.tenant_id, user, request.client_id)
        lifetime = timedelta(seconds=self.issuance.refresh_lifetime_s)
        recorded = await session.grants.record_refresh(
            tokens["refresh_token"], user.id, request.client_id, lifetime, family, confidential, since
        )
        if recorded is None:
            raise InvalidGrant(REVOKED)
        if request.client_id and "openid" in (request.scope or "").split():
            id_token = self.issuance.id_tokens.issue(session.tenant_id, user, request.client_id, nonce)
            tokens["id_token"] = id_token
        if request.client_info:
            tokens["client_info"] = _client_info(session.tenant_id, user)
        return tokens

    async def authorization_code(
        self,
        session: TenantSession,
        request: TokenRequest,
        code: str | None,
        redirect_uri: str | None,
        code_verifier: str | None,
    ) -> dict[str, Any]:
        if not code or not request.client_id or not redirect_uri:
            raise InvalidGrant("code, client_id and redirect_uri are required")
        if request.authenticates:
            await _authenticate_client(session, request)  # a wrong credential leaves the code unspent
        grant = await session.grants.redeem_code(code)
        if grant is None:
            raise InvalidGrant(BAD_CODE)
        if str(grant.app_id) != request.client_id:
            raise InvalidGrant(aadsts(70000, "the code was issued to another client"))
        if redirect_uri != grant.redirect_uri:
            raise InvalidGrant(aadsts(50148, "redirect_uri does not match the one the code was issued for"))
        _check_pkce(grant, code_verifier)
        confidential = grant.platform in CONFIDENTIAL_PLATFORMS
        if confidential and not request.authenticates:
            raise InvalidClient(SECRET_REQUIRED)
        user = await _enabled_user(session, grant.user_id)
        scoped = TokenRequest(request.client_id, None, grant.scope, request.client_info)
        return await self.issue_user_tokens(
            session, user, scoped, nonce=grant.nonce, confidential=confidential, since=grant.issued_at
        )

    async def refresh(
        self, session: TenantSession, request: TokenRequest, refresh_token: str | None
    ) -> dict[str, Any]:
        """Rotate: the presented token is used up, a new one joins its family."""
        if not refresh_token:
            raise InvalidGrant("refresh_token is required")
        claims = self.verifier.verify_refresh(refresh_token)
        if claims.tenant_id != session.tenant_id:
            raise InvalidGrant(aadsts(70000, "refresh token was issued to another tenant"))
        if request.client_id is not None and request.client_id != claims.client_id:
            raise InvalidGrant(aadsts(70000, "refresh token was issued to another client"))
        request = replace(request, client_id=claims.client_id)  # the credential must be its client's
        if request.authenticates:
            await _authenticate_client(session, request)
        outcome = await session.grants.redeem_refresh(refresh_token, request.authenticates)
        if outcome.result is Refresh.CLIENT_REQUIRED:
            raise InvalidClient(SECRET_REQUIRED)
        if outcome.result is Refresh.REPLAYED:
            raise InvalidGrant(REPLAYED)
        if outcome.result is Refresh.UNKNOWN:
            raise InvalidGrant(BAD_CODE)
        user = await _enabled_user(session, claims.object_id)
        scoped = TokenRequest(claims.client_id, None, request.scope, request.client_info)
        return await self.issue_user_tokens(
            session, user, scoped, family=outcome.family_id, confidential=outcome.confidential
        )


def _check_pkce(grant: CodeGrant, verifier: str | None) -> None:
    if grant.code_challenge is None:
        if verifier is not None:
            raise InvalidGrant(aadsts(50148, "a code_verifier was sent for a code issued without PKCE"))
        return
    if not verifier:
        raise InvalidGrant(aadsts(50148, "the code_verifier is missing"))
    if not 43 <= len(verifier) <= 128 or not verifier.isascii():
        raise InvalidGrant(aadsts(50148, "the code_verifier is malformed"))
    if not hmac.compare_digest(s256(verifier), grant.code_challenge):
        raise InvalidGrant(aadsts(50148, "the code_verifier does not match the code_challenge"))


async def _authenticate_client(session: TenantSession, request: TokenRequest) -> None:
    if request.client_assertion is not None:
        await authenticate_assertion(session, request.client_id, request.client_assertion, request.audiences)
        return
    if not request.client_id or not request.client_secret:
        raise InvalidClient(SECRET_REQUIRED)
    if await session.applications.verify_client_secret(request.client_id, request.client_secret) is None:
        raise InvalidClient(BAD_SECRET)


async def _enabled_user(session: TenantSession, user_id: uuid.UUID) -> User:
    try:
        user = await session.users.get(user_id)
    except NotFound:
        raise InvalidGrant(aadsts(50057, "the user no longer exists")) from None
    if not user.account_enabled:
        raise InvalidGrant(aadsts(50057, "user account is disabled"))
    return user


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """`client_secret_basic` (RFC 6749 2.3.1): both halves form-urlencoded, then base64."""
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise InvalidClient("the Basic credentials are not base64") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("the Basic credentials have no ':'")
    return unquote_plus(client_id), unquote_plus(secret)
