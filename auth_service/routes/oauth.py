"""OAuth 2.0 token endpoint and OpenID discovery, per tenant (given by id or verified domain).

Failed sign-ins look the same whether or not the user exists: same message, same
argon2 work (a dummy hash stands in), and each is logged in the tenant's own scale unit.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from auth_service import grants
from auth_service.discovery import oidc_metadata
from auth_service.errors import AccountLocked, InvalidClient, InvalidGrant, InvalidToken
from auth_service.grants import TokenRequest
from corestore.errors import TenantNotFound
from corestore.objects import User
from corestore.passwords import verify_password
from corestore.session import TenantSession

if TYPE_CHECKING:
    from auth_service.frontend import FrontEnd

router = APIRouter()
BAD_CREDENTIALS = "AADSTS50126: Error validating credentials due to invalid username or password."
BAD_CLIENT = "AADSTS7000215: Invalid client secret provided."
FormText = Annotated[str | None, Form(max_length=4096)]


def oauth_error(
    error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


async def resolve_tenant(frontend: FrontEnd, tenant: str) -> uuid.UUID:
    """A tenant id from the path: a GUID, or a verified domain of this cloud."""
    catalog = frontend.store.catalog(frontend.cloud)
    try:
        tenant_id: uuid.UUID | None = uuid.UUID(tenant)
    except ValueError:
        tenant_id = await catalog.resolve_domain(tenant) if len(tenant) <= 253 else None
    if tenant_id is None:
        raise TenantNotFound(f"AADSTS90002: Tenant '{tenant[:64]}' not found")
    await frontend.store.placement(tenant_id, frontend.cloud)
    return tenant_id


@router.post("/{tenant}/oauth2/v2.0/token")
async def token(
    request: Request,
    tenant: str,
    grant_type: Annotated[str, Form(max_length=64)],
    username: FormText = None,
    password: FormText = None,
    client_id: FormText = None,
    client_secret: FormText = None,
    refresh_token: FormText = None,
    scope: FormText = None,
    code: FormText = None,
    redirect_uri: FormText = None,
    code_verifier: FormText = None,
    client_info: FormText = None,
) -> JSONResponse:
    frontend: FrontEnd = request.app.state.frontend
    try:
        tenant_id = await resolve_tenant(frontend, tenant)
    except TenantNotFound as exc:
        return oauth_error("invalid_request", str(exc))
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
    asked = TokenRequest(client_id, client_secret, scope, client_info == "1")
    flows = {
        "password": lambda: _password(frontend, session, username, password, asked, client),
        "client_credentials": lambda: _client_credentials(
            frontend, session, client_id, client_secret, client
        ),
        "refresh_token": lambda: grants.refresh(frontend, session, asked, refresh_token),
        "authorization_code": lambda: grants.authorization_code(
            frontend, session, asked, code, redirect_uri, code_verifier
        ),
    }
    grant = flows.get(grant_type)
    challenge = {"WWW-Authenticate": "Basic"} if basic is not None else None
    if grant is None:
        return oauth_error("unsupported_grant_type", f"grant_type {grant_type[:64]!r} is not supported")
    try:
        return JSONResponse(await grant(), headers={"Cache-Control": "no-store"})
    except InvalidClient as exc:
        return oauth_error("invalid_client", str(exc), 401, challenge)
    except AccountLocked as exc:
        return oauth_error(
            "invalid_grant",
            "AADSTS50053: account locked; try again later",
            400,
            {"Retry-After": str(max(1, round(exc.retry_after)))},
        )
    except (InvalidGrant, InvalidToken) as exc:
        return oauth_error(
            "invalid_grant" if grant_type != "client_credentials" else "invalid_client",
            str(exc),
            400 if grant_type != "client_credentials" else 401,
            challenge if grant_type == "client_credentials" else None,
        )


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


async def _client_credentials(
    frontend: FrontEnd,
    session: TenantSession,
    client_id: str | None,
    client_secret: str | None,
    client: str | None,
) -> dict[str, Any]:
    if not client_id or not client_secret:
        raise InvalidGrant("client_id and client_secret are required")
    principal = await session.applications.verify_client_secret(client_id, client_secret)
    if principal is None:
        await session.sign_ins.record(
            "failure", client_id, frontend.region, "invalid client secret", client_address=client
        )
        raise InvalidGrant(BAD_CLIENT)
    await session.sign_ins.record("success", client_id, frontend.region, None, principal.id, client)
    return frontend.app_tokens(session.tenant_id, principal)


@router.get("/{tenant}/discovery/v2.0/keys")
async def keys(request: Request, tenant: str) -> JSONResponse:
    frontend: FrontEnd = request.app.state.frontend
    await resolve_tenant(frontend, tenant)
    return JSONResponse(frontend.jwks())


@router.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def openid_configuration(request: Request, tenant: str) -> JSONResponse:
    frontend: FrontEnd = request.app.state.frontend
    tenant_id = await resolve_tenant(frontend, tenant)
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "issuer": frontend.issuer(tenant_id),
            "token_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/{tenant_id}/discovery/v2.0/keys",
            "tenant_region_scope": frontend.cloud.value,
            **oidc_metadata(base, tenant_id, frontend.algorithms()),
        }
    )
