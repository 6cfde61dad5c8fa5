"""The authorization code flow over HTTP: sign-in page, PKCE, codes, ID tokens, refresh rotation.

Every refusal is checked for what a user would notice: an error page with no
redirect, or an OAuth error, and nothing usable left behind.
"""

from __future__ import annotations

import asyncio
import base64
import uuid

import asyncpg
import httpx
import jwt
import pytest

from corestore.roles import dsn
from devtools.client import CreatedTenant, connect
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD, sign_in
from tests.auth_service.signin_flow import (
    NATIVE_CALLBACK,
    SPA_CALLBACK,
    WEB_CALLBACK,
    RegisteredApp,
    authorize_url,
    form_fields,
    pkce,
    redirected_params,
    submit,
)


def _token(http: httpx.Client, url: str, app: RegisteredApp, **form: str) -> httpx.Response:
    return http.post(f"{url}/{app.tenant.id}/oauth2/v2.0/token", data=form)


def _code(http: httpx.Client, url: str, app: RegisteredApp, challenge: str, uri: str = SPA_CALLBACK) -> str:
    auth = authorize_url(url, app, uri, code_challenge=challenge, code_challenge_method="S256")
    params = redirected_params(submit(http, auth, app.tenant.admin, PASSWORD))
    assert params["state"] == "st-123"
    return params["code"]


def test_discovery_lists_the_flow(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    config = http.get(f"{west.url}/{http_tenant.domain}/v2.0/.well-known/openid-configuration").json()
    assert config["authorization_endpoint"] == f"{west.url}/{http_tenant.id}/oauth2/v2.0/authorize"
    assert config["end_session_endpoint"] == f"{west.url}/{http_tenant.id}/oauth2/v2.0/logout"
    assert config["userinfo_endpoint"] == f"{west.url}/oidc/userinfo"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        config["token_endpoint_auth_methods_supported"]
    )
    assert {"authorization_code", "refresh_token"} <= set(config["grant_types_supported"])


def test_code_flow_with_pkce_gives_an_id_token_once_at_any_front_end(
    http: httpx.Client, west: FrontEndProcess, north: FrontEndProcess, registered: RegisteredApp
) -> None:
    verifier, challenge = pkce()
    code = _code(http, west.url, registered, challenge)
    form = {
        "grant_type": "authorization_code",
        "client_id": registered.client_id,
        "code": code,
        "redirect_uri": SPA_CALLBACK,
        "code_verifier": verifier,
        "scope": "openid profile",
    }
    tokens = _token(http, north.url, registered, **form).json()  # a code from west, redeemed in north
    jwks = http.get(f"{west.url}/{registered.tenant.id}/discovery/v2.0/keys").json()
    kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        tokens["id_token"], key, algorithms=[key.algorithm_name], audience=registered.client_id
    )
    assert claims["nonce"] == "n-456"
    assert claims["tid"] == registered.tenant.id
    assert claims["preferred_username"] == registered.tenant.admin
    assert claims["name"] == "Admin"

    info = http.get(
        f"{west.url}/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.json()["sub"] == claims["sub"]
    assert info.json()["oid"] == claims["oid"]

    replay = _token(http, west.url, registered, **form)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        SPA_CALLBACK + "/",
        SPA_CALLBACK.upper(),
        SPA_CALLBACK + "?next=https://evil.example",
        "https://app.example:8443/callback",
        "https://app.example.evil.example/callback",
        "https://app.example@evil.example/callback",
        "//evil.example/callback",
        "https://app.example/callback/../evil",
        "",
    ],
)
def test_unregistered_or_look_alike_redirect_uris_get_a_page_never_a_redirect(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp, redirect_uri: str
) -> None:
    _, challenge = pkce()
    response = http.get(authorize_url(west.url, registered, redirect_uri, code_challenge=challenge))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "AADSTS50011" in response.text
    assert "<form" not in response.text


def test_an_unknown_client_gets_a_page(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    for client_id in ("00000000-0000-0000-0000-000000000000", "not-a-client"):
        url = authorize_url(west.url, registered).replace(registered.client_id, client_id)
        response = http.get(url)
        assert response.status_code == 400
        assert "AADSTS700016" in response.text
        assert "location" not in response.headers


def test_public_clients_must_use_s256_pkce(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    for uri, extra in (
        (SPA_CALLBACK, {}),
        (NATIVE_CALLBACK, {}),
        (SPA_CALLBACK, {"code_challenge": pkce()[1], "code_challenge_method": "plain"}),
    ):
        params = redirected_params(http.get(authorize_url(west.url, registered, uri, **extra)))
        assert params["error"] == "invalid_request"
        assert params["state"] == "st-123"
        assert "code" not in params


def test_a_missing_or_wrong_verifier_is_refused(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    verifier, challenge = pkce()
    base = {
        "grant_type": "authorization_code",
        "client_id": registered.client_id,
        "redirect_uri": SPA_CALLBACK,
    }
    for wrong in ({}, {"code_verifier": pkce()[0]}, {"code_verifier": verifier[:-1] + "A"}):
        code = _code(http, west.url, registered, challenge)
        response = _token(http, west.url, registered, **base, code=code, **wrong)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
        late = _token(http, west.url, registered, **base, code=code, code_verifier=verifier)
        assert late.json()["error"] == "invalid_grant", "a refused redemption spends the code"


def test_a_code_is_bound_to_its_client_and_redirect_uri(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    verifier, challenge = pkce()
    code = _code(http, west.url, registered, challenge)
    response = _token(
        http,
        west.url,
        registered,
        grant_type="authorization_code",
        client_id=registered.client_id,
        code=code,
        redirect_uri=NATIVE_CALLBACK,
        code_verifier=verifier,
    )
    assert response.json()["error"] == "invalid_grant"


def test_web_clients_authenticate_with_basic_or_post(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    verifier, challenge = pkce()
    base = {"grant_type": "authorization_code", "redirect_uri": WEB_CALLBACK, "code_verifier": verifier}
    code = _code(http, west.url, registered, challenge, WEB_CALLBACK)
    no_secret = _token(http, west.url, registered, **base, client_id=registered.client_id, code=code)
    assert no_secret.status_code == 401
    assert no_secret.json()["error"] == "invalid_client"

    basic = base64.b64encode(f"{registered.client_id}:{registered.secret}".encode()).decode()
    code = _code(http, west.url, registered, challenge, WEB_CALLBACK)
    ok = http.post(
        f"{west.url}/{registered.tenant.id}/oauth2/v2.0/token",
        data={**base, "code": code},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert ok.status_code == 200, ok.text
    refresh = {"grant_type": "refresh_token", "refresh_token": ok.json()["refresh_token"]}
    alone = _token(http, west.url, registered, **refresh, client_id=registered.client_id)
    assert alone.status_code == 401, "a confidential client's refresh token needs its secret"
    rotated = http.post(
        f"{west.url}/{registered.tenant.id}/oauth2/v2.0/token",
        data=refresh,
        headers={"Authorization": f"Basic {basic}"},
    )
    assert rotated.status_code == 200, rotated.text
    code = _code(http, west.url, registered, challenge, WEB_CALLBACK)
    post = _token(
        http,
        west.url,
        registered,
        **base,
        code=code,
        client_id=registered.client_id,
        client_secret=registered.secret,
    )
    assert post.status_code == 200, post.text

    wrong = base64.b64encode(f"{registered.client_id}:nope".encode()).decode()
    app_token = http.post(
        f"{west.url}/{registered.tenant.id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": "https://graph.corestore.local/.default"},
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert app_token.status_code == 401
    assert app_token.headers["www-authenticate"] == "Basic"


def test_a_forged_or_altered_form_is_refused_before_any_password_check(
    cluster: ClusterState, http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    _, challenge = pkce()
    auth = authorize_url(west.url, registered, code_challenge=challenge, code_challenge_method="S256")
    fields = form_fields(http.get(auth).text)
    action = auth.split("?", 1)[0]
    wrong = {"username": registered.tenant.admin, "password": "wrong-Passw0rd"}
    for _ in range(6):  # past the lockout threshold, had any of these been checked
        altered = http.post(action, data={**fields, **wrong, "state": "other"})
        assert altered.status_code == 403
        assert "location" not in altered.headers
        with connect(cluster.directory) as stranger:  # no cookie: a form posted from another site
            forged = stranger.post(action, data={**fields, **wrong})
        assert forged.status_code == 403
        assert "location" not in forged.headers
    signed_in = submit(http, auth, registered.tenant.admin, PASSWORD)
    assert "code" in redirected_params(signed_in), "no password was checked, so nothing locked the account"


def test_the_page_fails_uniformly_and_locks_out_like_the_token_endpoint(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    _, challenge = pkce()
    auth = authorize_url(west.url, registered, code_challenge=challenge, code_challenge_method="S256")
    unknown = submit(http, auth, registered.tenant.upn("nobody"), "wrong-Passw0rd")
    known = submit(http, auth, registered.tenant.admin, "wrong-Passw0rd")
    assert unknown.status_code == known.status_code == 200
    assert "AADSTS50126" in unknown.text
    assert unknown.text.replace(registered.tenant.upn("nobody"), "U") == known.text.replace(
        registered.tenant.admin, "U"
    ).replace(form_fields(known.text)["csrf"], form_fields(unknown.text)["csrf"])
    for _ in range(5):
        submit(http, auth, registered.tenant.admin, "wrong-Passw0rd")
    locked = submit(http, auth, registered.tenant.admin, PASSWORD)
    assert "AADSTS50053" in locked.text
    assert "location" not in locked.headers


def test_refresh_tokens_rotate_and_a_replay_revokes_the_chain(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    first = sign_in(http, west.url, http_tenant.domain, http_tenant.admin)["refresh_token"]
    url = f"{west.url}/{http_tenant.domain}/oauth2/v2.0/token"
    second = http.post(url, data={"grant_type": "refresh_token", "refresh_token": first})
    assert second.status_code == 200
    replay = http.post(url, data={"grant_type": "refresh_token", "refresh_token": first})
    assert replay.status_code == 400
    assert "AADSTS70043" in replay.json()["error_description"]
    revoked = http.post(
        url, data={"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]}
    )
    assert revoked.json()["error"] == "invalid_grant", "the thief's replay ended the owner's chain too"


def test_sign_out_ends_the_clients_refresh_tokens_and_redirects_only_where_registered(
    http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    verifier, challenge = pkce()
    code = _code(http, west.url, registered, challenge)
    tokens = _token(
        http,
        west.url,
        registered,
        grant_type="authorization_code",
        client_id=registered.client_id,
        code=code,
        redirect_uri=SPA_CALLBACK,
        code_verifier=verifier,
        scope="openid",
    ).json()
    logout = f"{west.url}/{registered.tenant.domain}/oauth2/v2.0/logout"
    hint = tokens["id_token"]
    evil = http.get(
        logout, params={"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/"}
    )
    assert evil.status_code == 400
    assert "location" not in evil.headers
    done = http.get(
        logout, params={"id_token_hint": hint, "post_logout_redirect_uri": SPA_CALLBACK, "state": "s"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{SPA_CALLBACK}?state=s"
    refreshed = _token(
        http,
        west.url,
        registered,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=registered.client_id,
    )
    assert refreshed.json()["error"] == "invalid_grant"
    assert http.get(logout).status_code == 200, "without a hint: a signed-out page"


def test_an_expired_code_is_refused(
    cluster: ClusterState, http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    verifier, challenge = pkce()
    code = _code(http, west.url, registered, challenge)

    async def ten_minutes_pass() -> None:
        conn = await asyncpg.connect(
            dsn(cluster, cluster.discover().scale_units[registered.tenant.scale_unit].primary, "superuser")
        )
        try:
            await conn.execute(
                "UPDATE authorization_codes SET expires_at = now() - interval '1 second'"
                " WHERE tenant_id = $1",
                uuid.UUID(registered.tenant.id),
            )
        finally:
            await conn.close()

    asyncio.run(ten_minutes_pass())
    response = _token(
        http,
        west.url,
        registered,
        grant_type="authorization_code",
        client_id=registered.client_id,
        code=code,
        redirect_uri=SPA_CALLBACK,
        code_verifier=verifier,
    )
    assert response.status_code == 400
    assert "AADSTS70008" in response.json()["error_description"]
