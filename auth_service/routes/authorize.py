"""The authorization endpoint: OIDC authorization code flow with PKCE, behind a sign-in page.

Nothing is redirected anywhere before the client and its exact redirect URI are
known: an unknown client or an unregistered URI (look-alikes included) gets an
error page. After that, errors go back to the client's redirect URI as OAuth
errors, with its `state`. Public clients (`spa`, `publicClient` redirect URIs)
must use PKCE with S256. The form's password check is the token endpoint's own
(`oauth.authentication`): same uniform failure, same lockout, same sign-in log.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from auth_service.errors import AccountLocked, InvalidGrant
from auth_service.http.deps import services
from auth_service.oauth import signin_page
from auth_service.oauth.aadsts import LOCKED, aadsts
from auth_service.oauth.csrf import COOKIE, CsrfGuard
from auth_service.oauth.replies import to_client
from auth_service.oauth.tenants import Tenants
from corestore.directory.grants import MAX_URI_CHARS, CodeGrant
from corestore.directory.users import Users
from corestore.errors import TenantNotFound
from corestore.session import TenantSession

router = APIRouter()
PUBLIC_PLATFORMS = frozenset({"spa", "publicClient"})
RESPONSE_MODES = ("query", "fragment", "form_post")
PRINCIPAL_NAME = Users.rules["user_principal_name"]  # what login_hint and username may be, at most
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest, unpadded


class AuthorizeParams(BaseModel):
    """The authorization request (RFC 6749 4.1.1, OIDC Core 3.1.2.1, RFC 7636); others are ignored."""

    client_id: str = Field("", max_length=64)
    redirect_uri: str = Field("", max_length=MAX_URI_CHARS)
    response_type: str = Field("", max_length=64)
    scope: str = Field("openid", max_length=1024)
    state: str = Field("", max_length=2048)
    nonce: str = Field("", max_length=256)
    code_challenge: str = Field("", max_length=128)
    code_challenge_method: str = Field("", max_length=16)
    response_mode: str = Field("query", max_length=16)
    prompt: str = Field("", max_length=64)
    login_hint: str = Field("", max_length=PRINCIPAL_NAME.max_length)

    def bound(self) -> dict[str, str]:
        """What the form carries back, and what its CSRF token is bound to."""
        return {k: v for k, v in self.model_dump().items() if k != "login_hint"}


class SignInForm(AuthorizeParams):
    username: str = Field("", max_length=PRINCIPAL_NAME.max_length)
    password: str = Field("", max_length=Users.rules["password"].max_length)
    csrf: str = Field("", max_length=128)


@dataclass(frozen=True)
class Accepted:
    """A request whose client and redirect URI check out: errors may now go back to the client."""

    session: TenantSession
    params: AuthorizeParams
    platform: str


def _invalid(params: AuthorizeParams, platform: str) -> tuple[str, str] | None:
    """The OAuth error (code, description) in a request from a known client, if any."""
    if params.response_type != "code":
        return "unsupported_response_type", aadsts(700054)
    if params.response_mode not in RESPONSE_MODES:
        return "invalid_request", aadsts(900144)
    if params.code_challenge or params.code_challenge_method:
        if params.code_challenge_method != "S256":
            return "invalid_request", aadsts(501491, "code_challenge_method")
        if not CHALLENGE.fullmatch(params.code_challenge):
            return "invalid_request", aadsts(501491, "code_challenge")
    elif platform in PUBLIC_PLATFORMS:
        return "invalid_request", aadsts(9002325)
    if params.prompt == "none":
        return "login_required", aadsts(50058)
    return None


async def _accept(tenants: Tenants, tenant: str, params: AuthorizeParams) -> Accepted | Response:
    """The request, accepted; or what to answer instead (an error page, or an error for the client)."""
    try:
        tenant_id = await tenants.resolve(tenant)
    except TenantNotFound as exc:
        return signin_page.error_page(str(exc), 404)
    session = await tenants.session(tenant_id)
    client = await session.grants.client(params.client_id)
    if client is None or not client.enabled:
        message = aadsts(700016, repr(params.client_id[:64]))
        return signin_page.error_page(message)
    platform = client.platform_of(params.redirect_uri)
    if platform is None:
        return signin_page.error_page(aadsts(50011))
    problem = _invalid(params, platform)
    if problem is not None:
        mode = params.response_mode if params.response_mode in RESPONSE_MODES else "query"
        error = {"error": problem[0], "error_description": problem[1], "state": params.state}
        return to_client(params.redirect_uri, mode, error)
    return Accepted(session, params, platform)


def _form(
    csrf: CsrfGuard, request: Request, accepted: Accepted, username: str, error: str | None
) -> Response:
    cookie = request.cookies.get(COOKIE) or csrf.new_cookie()
    hidden = {**accepted.params.bound(), "csrf": csrf.token(cookie, accepted.params.bound())}
    page = signin_page.sign_in_form(request.url.path, hidden, username, error)
    page.set_cookie(COOKIE, cookie, path="/", secure=True, httponly=True, samesite="strict")
    return page


@router.get("/{tenant}/oauth2/v2.0/authorize", response_model=None)
async def authorize(request: Request, tenant: str, params: Annotated[AuthorizeParams, Query()]) -> Response:
    parts = services(request)
    accepted = await _accept(parts.tenants, tenant, params)
    if isinstance(accepted, Response):
        return accepted
    return _form(parts.csrf, request, accepted, params.login_hint, None)


@router.post("/{tenant}/oauth2/v2.0/authorize", response_model=None)
async def sign_in(request: Request, tenant: str, form: Annotated[SignInForm, Form()]) -> Response:
    parts = services(request)
    params = AuthorizeParams.model_validate(form.model_dump(include=set(AuthorizeParams.model_fields)))
    accepted = await _accept(parts.tenants, tenant, params)
    if isinstance(accepted, Response):
        return accepted
    if not parts.csrf.check(request.cookies.get(COOKIE), params.bound(), form.csrf):
        return signin_page.error_page(
            "The sign-in form expired or did not come from this page. Go back to the application "
            "and sign in again.",
            403,
        )
    if not form.username or not form.password:
        return _form(parts.csrf, request, accepted, form.username, "Enter your username and password.")
    client = request.client.host if request.client else None
    authentication = parts.grants.authentication
    try:
        user = await authentication.authenticate(accepted.session, form.username, form.password, client)
    except AccountLocked:
        return _form(parts.csrf, request, accepted, form.username, LOCKED)
    except InvalidGrant as exc:
        return _form(parts.csrf, request, accepted, form.username, str(exc))
    code = await accepted.session.grants.issue_code(
        CodeGrant(
            uuid.UUID(params.client_id),
            user.id,
            params.redirect_uri,
            accepted.platform,
            params.code_challenge or None,
            params.nonce or None,
            params.scope,
        )
    )
    return to_client(params.redirect_uri, params.response_mode, {"code": code, "state": params.state})
