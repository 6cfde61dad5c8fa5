"""Deleted items over HTTP: a deleted user cannot sign in, is listed in deleted items only, and
comes back with its sign-in; a restore needs write permission and a free principal name."""

from __future__ import annotations

import httpx
import pytest

from devtools.client import CreatedTenant
from devtools.process import FrontEndProcess
from tests.auth_service.conftest import PASSWORD, sign_in

EVENTUAL = {"ConsistencyLevel": "eventual"}


def _user(http: httpx.Client, url: str, headers: dict[str, str], tenant: CreatedTenant, nick: str) -> str:
    body = {
        "accountEnabled": True,
        "displayName": nick.title(),
        "mailNickname": nick,
        "userPrincipalName": tenant.upn(nick),
        "passwordProfile": {"password": PASSWORD},
    }
    made = http.post(f"{url}/v1.0/users", headers=headers, json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_a_deleted_user_is_refused_listed_restored_and_audited(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    base, tenant = f"{west.url}/v1.0", http_tenant.domain
    gone = _user(http, west.url, admin_headers, http_tenant, "gina")
    tokens = sign_in(http, west.url, tenant, http_tenant.upn("gina"))
    _user(http, west.url, admin_headers, http_tenant, "pat")
    plain = {
        "Authorization": f"Bearer {sign_in(http, west.url, tenant, http_tenant.upn('pat'))['access_token']}"
    }
    deleted = http.delete(f"{base}/users/{gone}", headers=admin_headers)
    assert deleted.status_code == 204
    admin = {**admin_headers, "x-corestore-consistency": deleted.headers["x-corestore-consistency"]}

    assert http.get(f"{base}/users/{gone}", headers=admin).status_code == 404
    with pytest.raises(RuntimeError, match="AADSTS50126"):
        sign_in(http, west.url, tenant, http_tenant.upn("gina"))
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refused = http.post(f"{west.url}/{tenant}/oauth2/v2.0/token", data=refresh)
    assert refused.status_code == 400
    assert refused.json()["error_description"].startswith("AADSTS")

    listed = http.get(
        f"{base}/directory/deletedItems/microsoft.graph.user",
        params={"$filter": "startswith(displayName, 'Gi')", "$count": "true", "$top": "5"},
        headers={**admin, **EVENTUAL},
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["@odata.count"] == 1
    (item,) = listed.json()["value"]
    assert (item["id"], item["@odata.type"]) == (gone, "#microsoft.graph.user")
    assert item["userPrincipalName"].endswith(http_tenant.upn("gina"))
    assert item["deletedDateTime"]
    no_header = http.get(
        f"{base}/directory/deletedItems/graph.user", params={"$count": "true"}, headers=admin
    )
    assert no_header.status_code == 400
    one = http.get(f"{base}/directory/deletedItems/{gone}", params={"$select": "displayName"}, headers=admin)
    assert one.json()["id"] == gone
    assert (one.json()["displayName"], "deletedDateTime" in one.json()) == ("Gina", False)

    assert http.post(f"{base}/directory/deletedItems/{gone}/restore", headers=plain).status_code == 403

    twin = _user(http, west.url, admin, http_tenant, "gina")
    conflict = http.post(f"{base}/directory/deletedItems/{gone}/restore", headers=admin)
    assert conflict.status_code == 400, conflict.text
    assert conflict.json()["error"]["code"] == "Request_BadRequest"
    assert "property userPrincipalName already exists" in conflict.json()["error"]["message"]
    assert http.delete(f"{base}/users/{twin}", headers=admin).status_code == 204
    restored = http.post(f"{base}/directory/deletedItems/{gone}/restore", headers=admin)
    assert restored.status_code == 200, restored.text
    assert restored.json()["userPrincipalName"] == http_tenant.upn("gina")
    assert sign_in(http, west.url, tenant, http_tenant.upn("gina"))["access_token"]

    admin["x-corestore-consistency"] = restored.headers["x-corestore-consistency"]
    audits = http.get(
        f"{base}/auditLogs/directoryAudits",
        params={"$filter": f"targetResources/any(t: t/id eq '{gone}')"},
        headers=admin,
    )
    names = [a["activityDisplayName"] for a in audits.json()["value"]]
    assert names[0] == "Restore user"
    assert "Delete user" in names
