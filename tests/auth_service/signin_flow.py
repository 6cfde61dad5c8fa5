"""Helpers for the sign-in flow tests: a registered application, and a user at the sign-in page."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt

from auth_service.http.deps import CONSISTENCY_HEADER
from devtools.client import CreatedTenant

SPA_CALLBACK = "https://app.example/callback"
WEB_CALLBACK = "https://web.example/signed-in"
NATIVE_CALLBACK = "http://localhost"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass(frozen=True)
class RegisteredApp:
    tenant: CreatedTenant
    object_id: str
    client_id: str
    secret: str
    consistency: str | None = None  # the last write's commit position: a read with it sees the app


def create_app(http: httpx.Client, url: str, tenant: CreatedTenant, headers: dict[str, str]) -> RegisteredApp:
    """An application with its service principal (Graph's two steps) and a client secret, over Graph."""
    app = http.post(f"{url}/v1.0/applications", headers=headers, json={"displayName": "Web"}).json()
    http.post(
        f"{url}/v1.0/servicePrincipals", headers=headers, json={"appId": app["appId"]}
    ).raise_for_status()
    added = http.post(f"{url}/v1.0/applications/{app['id']}/addPassword", headers=headers, json={})
    position = added.headers[CONSISTENCY_HEADER]
    return RegisteredApp(tenant, app["id"], app["appId"], added.json()["secretText"], position)


def register_redirect_uris(
    http: httpx.Client, url: str, app: RegisteredApp, headers: dict[str, str]
) -> RegisteredApp:
    """One redirect URI of each platform, through Graph's `web`, `spa` and `publicClient`."""
    platforms = {
        "spa": {"redirectUris": [SPA_CALLBACK]},
        "web": {"redirectUris": [WEB_CALLBACK]},
        "publicClient": {"redirectUris": [NATIVE_CALLBACK]},
    }
    http.patch(f"{url}/v1.0/applications/{app.object_id}", headers=headers, json=platforms).raise_for_status()
    return app


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(url: str, app: RegisteredApp, redirect_uri: str = SPA_CALLBACK, **extra: str) -> str:
    params = {
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid profile offline_access User.Read",
        "state": "st-123",
        "nonce": "n-456",
        **extra,
    }
    return f"{url}/{app.tenant.domain}/oauth2/v2.0/authorize?{urlencode(params)}"


def form_fields(page: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in HIDDEN.findall(page)}


def submit(http: httpx.Client, auth_uri: str, username: str, password: str) -> httpx.Response:
    """What a user does: open the page, fill in the form, send it."""
    page = http.get(auth_uri)
    assert page.status_code == 200, page.text[:300]
    action = auth_uri.split("?", 1)[0]
    return http.post(action, data={**form_fields(page.text), "username": username, "password": password})


def posted_params(response: httpx.Response) -> dict[str, str]:
    """What a form_post page would post back to the client."""
    assert response.status_code == 200, response.text[:300]
    assert '<form method="post"' in response.text
    return form_fields(response.text)


def redirected_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303, response.text[:300]
    location = urlsplit(response.headers["location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def app_token(
    http: httpx.Client, url: str, app: RegisteredApp, roles: list[str], wait_s: float = 10.0
) -> str:
    """A client-credentials token of `app` once it carries `roles`: the grant reads a replica,
    which may not have replayed an assignment made a moment ago on the primary."""
    form = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.secret}
    deadline = time.monotonic() + wait_s
    while True:
        response = http.post(f"{url}/{app.tenant.id}/oauth2/v2.0/token", data=form)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        if token_roles(token) == roles or time.monotonic() > deadline:
            return token
        time.sleep(0.05)


def token_roles(token: str) -> list[str]:
    roles: list[str] = jwt.decode(token, options={"verify_signature": False}).get("roles", [])
    return roles
