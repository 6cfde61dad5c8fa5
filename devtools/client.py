"""A small client of the front end's operator and sign-in endpoints.

The demo, the tests and the bench all create tenants and sign in this one way.
Front ends serve https under the cluster's own CA: `connect` trusts it (and only it).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from auth_service.graph.odata import VERSION
from corestore.directory.app_roles import GRAPH_APP_ID
from scale_units.local.tls import trust


def connect(directory: Path, timeout: float = 30.0) -> httpx.Client:
    """An HTTP client for the front ends of the cluster in `directory`."""
    return httpx.Client(verify=trust(directory), timeout=timeout)


@dataclass(frozen=True)
class CreatedTenant:
    id: str
    domain: str
    admin: str
    geo: str
    scale_unit: str

    def upn(self, name: str) -> str:
        return f"{name}@{self.domain}"


def tenant_request(
    name: str, country: str, domain: str, password: str, admin_name: str = "Admin"
) -> dict[str, Any]:
    """The body of `POST /operator/tenants`: a tenant, its verified domain, its first administrator."""
    admin = {"userPrincipalName": f"admin@{domain}", "displayName": admin_name, "password": password}
    return {"displayName": name, "country": country, "domains": [domain], "administrator": admin}


def user_body(upn: str, display_name: str, password: str | None = None) -> dict[str, Any]:
    """Graph's body for a new user: the properties Graph requires (the nickname from the UPN), and
    a password if given."""
    body: dict[str, Any] = {
        "accountEnabled": True,
        "displayName": display_name,
        "mailNickname": re.sub(r"[^A-Za-z0-9._-]", "-", upn.partition("@")[0]),
        "userPrincipalName": upn,
    }
    if password is not None:
        body["passwordProfile"] = {"password": password, "forceChangePasswordNextSignIn": False}
    return body


def password_grant(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


def create_tenant(
    http: httpx.Client,
    url: str,
    operator_key: str,
    password: str,
    country: str = "FR",
    name: str | None = None,
) -> CreatedTenant:
    name = name or f"t{uuid.uuid4().hex[:10]}"
    domain = f"{name}.example"
    headers = {"Authorization": f"Bearer {operator_key}"}
    body = tenant_request(name, country, domain, password)
    response = http.post(f"{url}/operator/tenants", headers=headers, json=body)
    if response.status_code == 307:  # another geo's tenant: its front end creates it (same credential)
        response = http.post(response.headers["location"], headers=headers, json=body)
    if response.status_code != 201:
        raise RuntimeError(f"tenant creation refused: {response.status_code} {response.text[:200]}")
    body = response.json()
    return CreatedTenant(body["id"], domain, f"admin@{domain}", body["geo"], body["scaleUnit"])


def sign_in(http: httpx.Client, url: str, tenant: str, username: str, password: str) -> dict[str, Any]:
    """Tokens for a user (password grant); `tenant` is an id or a verified domain. A front end of
    another geo redirects (307) to one of the tenant's geo: the request follows it."""
    grant = password_grant(username, password)
    response = http.post(f"{url}/{tenant}/oauth2/v2.0/token", data=grant, follow_redirects=True)
    if response.status_code != 200:
        raise RuntimeError(f"sign-in refused: {response.status_code} {response.text[:200]}")
    tokens: dict[str, Any] = response.json()
    return tokens


def grant_app_roles(
    http: httpx.Client, url: str, headers: dict[str, str], app_id: str, roles: tuple[str, ...]
) -> None:
    """Assign Microsoft Graph app roles (by value, e.g. `User.Read.All`) to the application
    `app_id`, as an administrator (`headers`) does over Graph; its next tokens carry them."""

    def get(path: str) -> dict[str, Any]:
        response = http.get(f"{url}{VERSION}{path}", headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
        found: dict[str, Any] = response.json()
        return found

    graph = get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')")
    principal = get(f"/servicePrincipals(appId='{app_id}')")
    ids = {role["value"]: role["id"] for role in graph["appRoles"]}
    for role in roles:
        body = {"principalId": principal["id"], "resourceId": graph["id"], "appRoleId": ids[role]}
        response = http.post(
            f"{url}{VERSION}/servicePrincipals/{graph['id']}/appRoleAssignedTo", headers=headers, json=body
        )
        if response.status_code != 201:
            raise RuntimeError(f"assigning {role}: {response.status_code} {response.text[:200]}")
