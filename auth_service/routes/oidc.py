"""OIDC beside the authorization endpoint: userinfo and end-session (sign-out).

Sign-out has no browser session to end (the sign-in page keeps none); what it ends
is the client's refresh tokens for the user its `id_token_hint` names. It redirects
only to a redirect URI registered on that client, matched exactly; otherwise it
shows a page.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from auth_service.errors import InvalidToken
from auth_service.http.deps import services
from auth_service.oauth import signin_page
from auth_service.oauth.aadsts import aadsts
from auth_service.oauth.csrf import COOKIE
from auth_service.oauth.id_tokens import pairwise_subject
from auth_service.oauth.replies import invalid_token, with_response
from corestore.directory.grants import MAX_URI_CHARS
from corestore.errors import NotFound, TenantNotFound

router = APIRouter()
Text = Annotated[str, Query(max_length=4096)]


@router.get("/oidc/userinfo", operation_id="userinfo")
@router.post("/oidc/userinfo", operation_id="userinfo_post")
async def userinfo(request: Request) -> JSONResponse:
    """The signed-in user's claims, for a user's access token (OIDC Core 5.3)."""
    parts = services(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return invalid_token("a Bearer access token is required")
    try:
        claims = parts.verifier.verify_access(token.strip())
    except InvalidToken as exc:
        return invalid_token(str(exc))
    if not claims.scopes:
        return invalid_token("an application token has no user")
    session = await parts.tenants.session(claims.tenant_id)
    parts.confinement.confine(session.unit.geo)  # another geo's user is never read here (421)
    try:
        user = await session.users.get(claims.object_id)
    except NotFound:
        return invalid_token("the user no longer exists")
    body = {
        "sub": pairwise_subject(claims.client_id or "", user.id),
        "oid": str(user.id),
        "tid": str(claims.tenant_id),
        "name": user.display_name,
        "preferred_username": user.user_principal_name,
    }
    if user.mail:
        body["email"] = user.mail
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/{tenant}/oauth2/v2.0/logout", response_model=None)
async def logout(
    request: Request,
    tenant: str,
    id_token_hint: Text = "",
    post_logout_redirect_uri: Annotated[str, Query(max_length=MAX_URI_CHARS)] = "",
    client_id: Annotated[str, Query(max_length=64)] = "",
    state: Annotated[str, Query(max_length=2048)] = "",
) -> Response:
    parts = services(request)
    try:
        tenant_id = await parts.tenants.resolve(tenant)
    except TenantNotFound as exc:
        return signin_page.error_page(str(exc), 404)
    session = await parts.tenants.session(tenant_id)
    user_id: uuid.UUID | None = None
    if id_token_hint:
        try:
            hint = parts.id_tokens.read_hint(id_token_hint, tenant_id)
        except InvalidToken as exc:
            return signin_page.error_page(str(exc))
        if client_id and client_id != hint.client_id:
            return signin_page.error_page("client_id does not match the id_token_hint")
        client_id, user_id = hint.client_id, hint.object_id
    target: str | None = None
    if post_logout_redirect_uri:
        client = await session.grants.client(client_id) if client_id else None
        if client is None or client.platform_of(post_logout_redirect_uri) is None:
            return signin_page.error_page(aadsts(50011, "post_logout_redirect_uri"))
        target = with_response(post_logout_redirect_uri, "query", {"state": state})
    if user_id is not None:
        await session.grants.revoke_refresh(user_id, client_id)
    response: Response = (
        Response(status_code=303, headers={**signin_page.HEADERS, "Location": target})
        if target
        else signin_page.signed_out()
    )
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response
