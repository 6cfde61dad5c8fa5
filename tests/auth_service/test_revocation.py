"""Revocation as an administrator meets it: every refresh token and code of a user stops at once,
on every front end, after revokeSignInSessions, a password reset, disabling or deleting the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devtools.client import CreatedTenant, grant_app_roles, user_body
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD, sign_in
from tests.auth_service.graph_sdk import graph_client
from tests.auth_service.signin_flow import (
    RegisteredApp,
    app_token,
    authorize_url,
    pkce,
    redirected_params,
    submit,
)

USER_PASSWORD = "Us3r-passw0rd!"
Act = Callable[[httpx.Client, str, dict[str, str], str, dict[str, Any]], httpx.Response]


def _refresh(http: httpx.Client, url: str, tenant: str, token: str) -> httpx.Response:
    return http.post(
        f"{url}/{tenant}/oauth2/v2.0/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


ACTS: dict[str, Act] = {
    "revoke": lambda http, v1, admin, uid, tokens: http.post(
        f"{v1}/users/{uid}/revokeSignInSessions", headers=admin
    ),
    "me": lambda http, v1, admin, uid, tokens: http.post(
        f"{v1}/me/revokeSignInSessions", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ),
    "password": lambda http, v1, admin, uid, tokens: http.patch(
        f"{v1}/users/{uid}", headers=admin, json={"passwordProfile": {"password": "N3w-passw0rd!"}}
    ),
    "disable": lambda http, v1, admin, uid, tokens: http.patch(
        f"{v1}/users/{uid}", headers=admin, json={"accountEnabled": False}
    ),
    "delete": lambda http, v1, admin, uid, tokens: http.delete(f"{v1}/users/{uid}", headers=admin),
}


@pytest.mark.parametrize("act", ACTS)
def test_refresh_tokens_stop_on_every_front_end(
    http: httpx.Client,
    west: FrontEndProcess,
    north: FrontEndProcess,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
    act: str,
) -> None:
    v1 = f"{west.url}/v1.0"
    upn = http_tenant.upn("rita")
    user = http.post(f"{v1}/users", headers=admin_headers, json=user_body(upn, "Rita", USER_PASSWORD)).json()
    tokens = sign_in(http, west.url, http_tenant.domain, upn, USER_PASSWORD)
    other = sign_in(http, west.url, http_tenant.domain, upn, USER_PASSWORD)
    kept = _refresh(http, north.url, http_tenant.domain, other["refresh_token"])
    assert kept.status_code == 200, "before: any front end redeems it"

    answer = ACTS[act](http, v1, admin_headers, user["id"], tokens)
    assert answer.status_code in (200, 204), answer.text
    for url, token in ((north.url, tokens["refresh_token"]), (west.url, kept.json()["refresh_token"])):
        refused = _refresh(http, url, http_tenant.domain, token)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_grant"
    if act in ("revoke", "me"):
        assert answer.json()["value"] is True
        after = {"x-corestore-consistency": answer.headers["x-corestore-consistency"]}
        me = http.get(f"{v1}/me", headers={"Authorization": f"Bearer {tokens['access_token']}", **after})
        assert me.status_code == 200, "access tokens already issued live until they expire, as in Entra"
        assert me.json()["signInSessionsValidFromDateTime"] is not None
        assert sign_in(http, north.url, http_tenant.domain, upn, USER_PASSWORD), "a new sign-in works"


def test_an_unredeemed_code_stops_working(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    tenant = registered.tenant
    verifier, challenge = pkce()
    auth = authorize_url(west.url, registered, code_challenge=challenge, code_challenge_method="S256")
    code = redirected_params(submit(http, auth, tenant.admin, PASSWORD))["code"]
    me = http.get(f"{west.url}/v1.0/me", headers=admin_headers).json()
    revoked = http.post(f"{west.url}/v1.0/users/{me['id']}/revokeSignInSessions", headers=admin_headers)
    assert revoked.status_code == 200, revoked.text
    form = {
        "grant_type": "authorization_code",
        "client_id": registered.client_id,
        "code": code,
        "redirect_uri": "https://app.example/callback",
        "code_verifier": verifier,
    }
    redeemed = http.post(f"{west.url}/{tenant.domain}/oauth2/v2.0/token", data=form)
    assert redeemed.status_code == 400, redeemed.text
    assert redeemed.json()["error"] == "invalid_grant"


def test_unknown_users_and_applications_cannot_revoke(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    v1 = f"{west.url}/v1.0"
    missing = http.post(
        f"{v1}/users/{'0' * 8}-0000-0000-0000-000000000000/revokeSignInSessions", headers=admin_headers
    )
    assert missing.status_code == 404
    by_upn = http.post(
        f"{v1}/users/nobody@{web_app.tenant.domain}/revokeSignInSessions", headers=admin_headers
    )
    assert by_upn.status_code == 404
    form = {
        "grant_type": "client_credentials",
        "client_id": web_app.client_id,
        "client_secret": web_app.secret,
    }
    app_token = http.post(f"{west.url}/{web_app.tenant.id}/oauth2/v2.0/token", data=form).json()[
        "access_token"
    ]
    as_app = http.post(f"{v1}/me/revokeSignInSessions", headers={"Authorization": f"Bearer {app_token}"})
    assert as_app.status_code in (400, 403), as_app.text


def test_an_application_revokes_with_user_revoke_sessions_all_and_not_with_reading(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    v1, tenant = f"{west.url}/v1.0", web_app.tenant
    upn = tenant.upn("rex")
    user = http.post(f"{v1}/users", headers=admin_headers, json=user_body(upn, "Rex", USER_PASSWORD)).json()
    tokens = sign_in(http, west.url, tenant.domain, upn, USER_PASSWORD)
    revoke = f"{v1}/users/{user['id']}/revokeSignInSessions"
    grant_app_roles(http, west.url, admin_headers, web_app.client_id, ("User.Read.All",))
    reader = {"Authorization": f"Bearer {app_token(http, west.url, web_app, ['User.Read.All'])}"}
    assert http.post(revoke, headers=reader).status_code == 403
    grant_app_roles(http, west.url, admin_headers, web_app.client_id, ("User.RevokeSessions.All",))
    roles = ["User.Read.All", "User.RevokeSessions.All"]
    revoker = {"Authorization": f"Bearer {app_token(http, west.url, web_app, roles)}"}
    revoked = http.post(revoke, headers=revoker)
    assert revoked.status_code == 200, revoked.text
    assert _refresh(http, west.url, tenant.domain, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    changed = http.patch(f"{v1}/users/{user['id']}", headers=revoker, json={"displayName": "Rexa"})
    assert changed.status_code == 403, "it revokes sessions and writes nothing else"


async def test_the_graph_sdk_revokes_its_users_sessions(
    cluster: ClusterState, http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    tokens = sign_in(http, west.url, http_tenant.domain, http_tenant.admin)
    async with graph_client(cluster, west.url, tokens["access_token"]) as graph:
        mine = await graph.me.revoke_sign_in_sessions.post()
        assert mine is not None
        assert mine.value is True
        by_upn = await graph.users.by_user_id(http_tenant.admin).revoke_sign_in_sessions.post()
        assert by_upn is not None
        assert by_upn.value is True
    assert _refresh(http, west.url, http_tenant.domain, tokens["refresh_token"]).status_code == 400
