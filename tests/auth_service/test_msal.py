"""Microsoft's own client, msal, unmodified: only the authority and the CA bundle are configured.

`instance_discovery=False` is msal's documented switch for an authority that is not
one of Microsoft's (it would otherwise ask login.microsoftonline.com about ours).
"""

from __future__ import annotations

import httpx
import msal  # type: ignore[import-untyped]
import pytest

from devtools.client import grant_app_roles
from devtools.process import FrontEndProcess
from scale_units.local.tls import ca_bundle
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD
from tests.auth_service.signin_flow import (
    NATIVE_CALLBACK,
    RegisteredApp,
    app_token,
    posted_params,
    submit,
    token_roles,
)

GRAPH_DEFAULT = ["https://graph.corestore.local/.default"]


@pytest.fixture(autouse=True)
def _session_verify_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets these variables override a session's `verify` (psf/requests#3829), and msal
    hands its `verify` to a session: without them, the CA bundle we pass is the one used."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def public_client(cluster: ClusterState, authority: str, client_id: str) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        client_id, authority=authority, instance_discovery=False, verify=str(ca_bundle(cluster.directory))
    )


@pytest.mark.parametrize("form", ["id", "domain"])
def test_client_credentials_for_either_authority_form(
    cluster: ClusterState,
    http: httpx.Client,
    west: FrontEndProcess,
    web_app: RegisteredApp,
    admin_headers: dict[str, str],
    form: str,
) -> None:
    grant_app_roles(http, west.url, admin_headers, web_app.client_id, ("User.Read.All",))
    app_token(http, west.url, web_app, ["User.Read.All"])  # until the grant's replica has the assignment
    tenant = web_app.tenant.id if form == "id" else web_app.tenant.domain
    app = msal.ConfidentialClientApplication(
        web_app.client_id,
        client_credential=web_app.secret,
        authority=f"{west.url}/{tenant}",
        instance_discovery=False,
        verify=str(ca_bundle(cluster.directory)),
    )
    result = app.acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert "access_token" in result, result
    assert token_roles(result["access_token"]) == ["User.Read.All"]  # what was assigned, nothing more
    users = http.get(f"{west.url}/v1.0/users", headers={"Authorization": f"Bearer {result['access_token']}"})
    assert users.status_code == 200
    assert app.acquire_token_for_client(scopes=GRAPH_DEFAULT)["token_source"] == "cache"


def test_public_client_code_flow_with_pkce_then_the_cache_and_a_silent_refresh(
    cluster: ClusterState, http: httpx.Client, west: FrontEndProcess, registered: RegisteredApp
) -> None:
    tenant = registered.tenant
    app = public_client(cluster, f"{west.url}/{tenant.domain}", registered.client_id)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=NATIVE_CALLBACK, response_mode="form_post")
    assert "code_challenge=" in flow["auth_uri"]
    answer = posted_params(submit(http, flow["auth_uri"], tenant.admin, PASSWORD))
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == tenant.admin
    assert result["id_token_claims"]["tid"] == tenant.id

    (account,) = app.get_accounts()
    assert account["username"] == tenant.admin
    cached = app.acquire_token_silent(["User.Read"], account=account)
    assert cached is not None
    assert cached["token_source"] == "cache"
    assert cached["access_token"] == result["access_token"]

    (old_refresh,) = app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)
    refreshed = app.acquire_token_silent(["User.Read"], account=account, force_refresh=True)
    assert refreshed is not None
    assert refreshed["token_source"] == "identity_provider"
    me = http.get(f"{west.url}/v1.0/me", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert me.json()["userPrincipalName"] == tenant.admin

    stolen = http.post(
        f"{west.url}/{tenant.id}/oauth2/v2.0/token",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh["secret"]},
    )
    assert stolen.json()["error"] == "invalid_grant"
    after = app.acquire_token_silent_with_error(["User.Read"], account=account, force_refresh=True)
    assert after is not None
    assert after.get("error") == "invalid_grant", "the replay revoked the client's chain"
