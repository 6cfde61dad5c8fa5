"""OAuth 2.0 token endpoint and OpenID discovery, per tenant (given by id or verified domain).

The grants themselves are `auth_service.oauth.grants`; this module reads the request
and answers in OAuth's error shape.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from auth_service.errors import AccountLocked, InvalidClient, InvalidGrant, InvalidToken
from auth_service.graph.responses import base_url
from auth_service.http.deps import noted, services
from auth_service.http.lean import LeanRoute, documented, json_response
from auth_service.oauth.aadsts import LOCKED
from auth_service.oauth.assertions import JWT_BEARER
from auth_service.oauth.discovery import algorithms, oidc_metadata
from auth_service.oauth.grants import TokenRequest, basic_credentials
from auth_service.oauth.replies import oauth_error
from auth_service.oauth.tokens import guid, issuer_for
from corestore.errors import TenantNotFound

router = APIRouter()
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELD = 4096
MAX_FIELDS = 16
FIELDS = {
    "grant_type": 64,
    **dict.fromkeys(
        ("username", "password", "client_id", "client_secret", "refresh_token", "scope"), MAX_FIELD
    ),
    **dict.fromkeys(("code", "redirect_uri", "code_verifier", "client_info"), MAX_FIELD),
    "client_assertion_type": 128,
    "client_assertion": 16384,  # a JWT, with its certificate chain (x5c) if the client sends it
}
NO_STORE = {"Cache-Control": "no-store"}


async def token(request: Request) -> Response:
    parts = services(request)
    try:
        form = await _form(request)
    except ValueError as exc:
        return oauth_error("invalid_request", str(exc))
    grant_type = form.get("grant_type", "")
    try:
        tenant_id = await parts.tenants.resolve(request.path_params["tenant"])
    except TenantNotFound as exc:
        return oauth_error("invalid_request", str(exc))
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    try:
        basic = basic_credentials(request.headers.get("authorization"))
    except InvalidClient as exc:
        return oauth_error("invalid_client", str(exc), 401, {"WWW-Authenticate": "Basic"})
    if basic is not None:
        if client_secret is not None or (client_id is not None and client_id != basic[0]):
            return oauth_error("invalid_request", "authenticate the client one way: Basic or the form")
        client_id, client_secret = basic
    assertion, assertion_type = form.get("client_assertion"), form.get("client_assertion_type")
    if (assertion is None) != (assertion_type is None) or assertion_type not in (None, JWT_BEARER):
        return oauth_error("invalid_request", f"client_assertion needs client_assertion_type {JWT_BEARER}")
    if assertion is not None and client_secret is not None:
        return oauth_error("invalid_request", "authenticate the client one way: a secret or an assertion")
    session = await parts.tenants.session(tenant_id)
    noted(request, tenant_id, guid(client_id))
    client = request.client.host if request.client else None
    base = str(request.base_url).rstrip("/")
    endpoints = tuple(
        dict.fromkeys(f"{base}/{t}/oauth2/v2.0/token" for t in (tenant_id, request.path_params["tenant"]))
    )
    asked = TokenRequest(
        client_id, client_secret, form.get("scope"), form.get("client_info") == "1", assertion, endpoints
    )
    grants = parts.grants
    flows = {
        "password": lambda: grants.password(
            session, form.get("username"), form.get("password"), asked, client
        ),
        "client_credentials": lambda: grants.client_credentials(session, asked, client),
        "refresh_token": lambda: grants.refresh(session, asked, form.get("refresh_token")),
        "authorization_code": lambda: grants.authorization_code(
            session, asked, form.get("code"), form.get("redirect_uri"), form.get("code_verifier")
        ),
    }
    grant = flows.get(grant_type)
    challenge = {"WWW-Authenticate": "Basic"} if basic is not None else None
    counted = parts.metrics.token
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
        parts.metrics.lockouts.inc()
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
    parts = services(request)
    await parts.tenants.resolve(tenant)
    return JSONResponse(parts.keys.jwks())


@router.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def openid_configuration(request: Request, tenant: str) -> JSONResponse:
    parts = services(request)
    tenant_id = await parts.tenants.resolve(tenant)
    base = base_url(request).rstrip("/")
    cloud = parts.keys.cloud
    return JSONResponse(
        {
            "issuer": issuer_for(cloud, tenant_id),
            "token_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/{tenant_id}/discovery/v2.0/keys",
            "tenant_region_scope": cloud.value,
            **oidc_metadata(base, tenant_id, algorithms(parts.keys)),
        }
    )
