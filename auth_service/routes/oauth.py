"""OAuth 2.0 token endpoint and OpenID discovery, per tenant (given by id or verified domain).

Failed sign-ins look the same whether or not the user exists: same message, same
argon2 work (a dummy hash stands in), and each is logged in the tenant's own scale unit
(queued for the background writer, so a grant never waits for its log row).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from auth_service.errors import AccountLocked, InvalidClient, InvalidGrant, InvalidToken
from auth_service.http.deps import front_end
from auth_service.http.lean import LeanRoute, documented, json_response
from auth_service.oauth import grants
from auth_service.oauth.discovery import oidc_metadata
from auth_service.oauth.grants import TokenRequest
from auth_service.oauth.tokens import issuer_for
from corestore.errors import TenantNotFound
from corestore.objects import User
from corestore.passwords import needs_rehash, verify_password
from corestore.session import TenantSession
from corestore.sign_in_log import SignInRecord

if TYPE_CHECKING:
    from auth_service.frontend import FrontEnd

router = APIRouter()
BAD_CREDENTIALS = "AADSTS50126: Error validating credentials due to invalid username or password."
BAD_CLIENT = "AADSTS7000215: Invalid client secret provided."
LOCKED = "AADSTS50053: account locked; try again later"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELD = 4096
MAX_FIELDS = 16
FIELDS = {
    "grant_type": 64,
    **dict.fromkeys(
        ("username", "password", "client_id", "client_secret", "refresh_token", "scope"), MAX_FIELD
    ),
    **dict.fromkeys(("code", "redirect_uri", "code_verifier", "client_info"), MAX_FIELD),
}
NO_STORE = {"Cache-Control": "no-store"}


def oauth_error(
    error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


async def resolve_tenant(frontend: FrontEnd, tenant: str) -> uuid.UUID:
    """A tenant id from the path: a GUID, or a verified domain of this cloud."""
    found = await frontend.find_tenant(tenant)
    if found is None:
        raise TenantNotFound(f"AADSTS90002: Tenant '{tenant[:64]}' not found")
    return found[0]


async def token(request: Request) -> Response:
    frontend = front_end(request)
    try:
        form = await _form(request)
    except ValueError as exc:
        return oauth_error("invalid_request", str(exc))
    grant_type = form.get("grant_type", "")
    try:
        tenant_id = await resolve_tenant(frontend, request.path_params["tenant"])
    except TenantNotFound as exc:
        return oauth_error("invalid_request", str(exc))
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    try:
        basic = grants.basic_credentials(request.headers.get("authorization"))
    except InvalidClient as exc:
        return oauth_error("invalid_client", str(exc), 401, {"WWW-Authenticate": "Basic"})
    if basic is not None:
        if client_secret is not None or (client_id is not None and client_id != basic[0]):
            return oauth_error("invalid_request", "authenticate the client one way: Basic or the form")
        client_id, client_secret = basic
    session = await frontend.store.authentication_session(tenant_id, frontend.cloud)
    client = request.client.host if request.client else None
    asked = TokenRequest(client_id, client_secret, form.get("scope"), form.get("client_info") == "1")
    flows = {
        "password": lambda: _password(
            frontend, session, form.get("username"), form.get("password"), asked, client
        ),
        "client_credentials": lambda: _client_credentials(
            frontend, session, client_id, client_secret, client
        ),
        "refresh_token": lambda: grants.refresh(frontend, session, asked, form.get("refresh_token")),
        "authorization_code": lambda: grants.authorization_code(
            frontend, session, asked, form.get("code"), form.get("redirect_uri"), form.get("code_verifier")
        ),
    }
    grant = flows.get(grant_type)
    challenge = {"WWW-Authenticate": "Basic"} if basic is not None else None
    counted = frontend.metrics.token
    if grant is None:
        counted("unsupported", "unsupported_grant_type")
        return oauth_error("unsupported_grant_type", f"grant_type {grant_type[:64]!r} is not supported")
    try:
        answer = json_response(await grant(), headers=NO_STORE)
    except InvalidClient as exc:
        counted(grant_type, "invalid_client", str(exc))
        return oauth_error("invalid_client", str(exc), 401, challenge)
    except AccountLocked as exc:
        counted(grant_type, "locked", LOCKED)
        frontend.metrics.lockouts.inc()
        return oauth_error("invalid_grant", LOCKED, 400, {"Retry-After": str(max(1, round(exc.retry_after)))})
    except (InvalidGrant, InvalidToken) as exc:
        error = "invalid_grant" if grant_type != "client_credentials" else "invalid_client"
        counted(grant_type, error, str(exc))
        return oauth_error(
            error,
            str(exc),
            400 if grant_type != "client_credentials" else 401,
            challenge if grant_type == "client_credentials" else None,
        )
    counted(grant_type, "issued")
    return answer


async def _password(
    frontend: FrontEnd,
    session: TenantSession,
    username: str | None,
    password: str | None,
    asked: TokenRequest,
    client: str | None,
) -> dict[str, Any]:
    if not username or password is None:
        raise InvalidGrant("username and password are required")
    user = await authenticate(frontend, session, username, password, client)
    return await grants.issue_user_tokens(frontend, session, user, asked)


async def authenticate(
    frontend: FrontEnd, session: TenantSession, username: str, password: str, client: str | None
) -> User:
    """The enabled user whose password this is: the one check behind the password grant and
    the sign-in page (same uniform failure, same lockout, same sign-in log)."""
    key = (session.tenant_id, username.lower())
    frontend.lockout.check(key)
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
        frontend.lockout.record_failure(key)
        _log(frontend, session, client, "failure", username, reason="invalid credentials")
        raise InvalidGrant(BAD_CREDENTIALS)
    frontend.lockout.record_success(key)
    if stored is not None and needs_rehash(stored):
        await session.users.update(user.id, {"password": password})
    _log(frontend, session, client, "success", user.user_principal_name, principal_id=user.id)
    return user


async def _client_credentials(
    frontend: FrontEnd,
    session: TenantSession,
    client_id: str | None,
    client_secret: str | None,
    client: str | None,
) -> dict[str, Any]:
    if not client_id or not client_secret:
        raise InvalidGrant("client_id and client_secret are required")
    app = await session.applications.verify_client_secret(client_id, client_secret)
    if app is None:
        _log(frontend, session, client, "failure", client_id, reason="invalid client secret")
        raise InvalidGrant(BAD_CLIENT)
    _log(frontend, session, client, "success", client_id, principal_id=app.principal.id)
    return frontend.app_tokens(session.tenant_id, app)


def _log(
    frontend: FrontEnd,
    session: TenantSession,
    client: str | None,
    result: str,
    principal: str,
    *,
    reason: str | None = None,
    principal_id: uuid.UUID | None = None,
) -> None:
    """Queue the sign-in's log row; the background writer commits it (the grant does not wait)."""
    frontend.sign_ins.record(
        SignInRecord(
            tenant_id=session.tenant_id,
            scale_unit=session.unit.id,
            created_at=datetime.now(UTC),
            result=result,
            principal=principal,
            region=frontend.region,
            reason=reason,
            principal_id=principal_id,
            client_address=client,
        )
    )


async def _form(request: Request) -> dict[str, str]:
    """The token request's form (RFC 6749: urlencoded, no parameter twice); ValueError says what is wrong."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        raise ValueError(f"the token request must be {FORM_TYPE}")
    try:
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ValueError("the form is not valid application/x-www-form-urlencoded") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise ValueError("a form parameter is repeated")
    for name, value in form.items():
        if len(value) > FIELDS.get(name, MAX_FIELD):
            raise ValueError(f"{name} is too long")
    if "grant_type" not in form:
        raise ValueError("grant_type is required")
    return form


router.add_api_route(
    "/{tenant}/oauth2/v2.0/token",
    token,
    methods=["POST"],
    name="token",
    route_class_override=LeanRoute,
    openapi_extra={
        **documented(("tenant",), ()),
        "requestBody": {
            "required": True,
            "content": {
                FORM_TYPE: {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {n: {"type": "string", "maxLength": m} for n, m in FIELDS.items()},
                    }
                }
            },
        },
    },
)


@router.get("/{tenant}/discovery/v2.0/keys")
async def keys(request: Request, tenant: str) -> JSONResponse:
    frontend = front_end(request)
    await resolve_tenant(frontend, tenant)
    return JSONResponse(frontend.keys.jwks())


@router.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def openid_configuration(request: Request, tenant: str) -> JSONResponse:
    frontend = front_end(request)
    tenant_id = await resolve_tenant(frontend, tenant)
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "issuer": issuer_for(frontend.cloud, tenant_id),
            "token_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/{tenant_id}/discovery/v2.0/keys",
            "tenant_region_scope": frontend.cloud.value,
            **oidc_metadata(base, tenant_id, frontend.algorithms()),
        }
    )


async def _verified(found: tuple[User, str | None] | None, password: str) -> bool:
    """Whether `password` is the found user's (always hashing, so a missing user costs as much)."""
    return await verify_password(None if found is None else found[1], password)
