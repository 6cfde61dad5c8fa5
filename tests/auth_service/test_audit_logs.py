"""Directory audit logs as an administrator and an auditing application read them: Graph's
directoryAudit shape, its filters and paging, AuditLog.Read.All, and msgraph-sdk unmodified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
    DirectoryAuditsRequestBuilder,
)

from devtools.client import CreatedTenant, grant_app_roles, user_body
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState
from tests.auth_service.conftest import sign_in
from tests.auth_service.graph_sdk import graph_client
from tests.auth_service.signin_flow import RegisteredApp, app_token

AUDITS = "/v1.0/auditLogs/directoryAudits"
CONSISTENCY = "x-corestore-consistency"


def audits(
    http: httpx.Client, url: str, headers: dict[str, str], after: httpx.Response, **params: str
) -> list[dict[str, Any]]:
    """The records, read where the write `after` is visible (its commit position sent back)."""
    position = {CONSISTENCY: after.headers[CONSISTENCY]}
    response = http.get(f"{url}{AUDITS}", headers={**headers, **position}, params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["value"]
    return found


def test_every_change_is_recorded_with_who_and_what(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    v1, started = (
        f"{west.url}/v1.0",
        (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    created = http.post(
        f"{v1}/users", headers=admin_headers, json=user_body(http_tenant.upn("una"), "Una", "Pw-1234567!")
    )
    user = created.json()
    http.patch(
        f"{v1}/users/{user['id']}", headers=admin_headers, json={"displayName": "Unity"}
    ).raise_for_status()
    group = http.post(
        f"{v1}/groups",
        headers=admin_headers,
        json={"displayName": "Crew", "mailNickname": "crew", "mailEnabled": False, "securityEnabled": True},
    ).json()
    ref = {"@odata.id": f"{v1}/directoryObjects/{user['id']}"}
    http.post(f"{v1}/groups/{group['id']}/members/$ref", headers=admin_headers, json=ref).raise_for_status()
    last = http.delete(f"{v1}/groups/{group['id']}/members/{user['id']}/$ref", headers=admin_headers)
    last.raise_for_status()

    about_una = audits(
        http, west.url, admin_headers, last, **{"$filter": f"targetResources/any(t: t/id eq '{user['id']}')"}
    )
    assert [a["activityDisplayName"] for a in about_una] == [
        "Remove member from group",
        "Add member to group",
        "Update user",
        "Add user",
    ]
    added = about_una[-1]
    me = http.get(f"{v1}/me", headers=admin_headers).json()
    assert added["initiatedBy"]["user"] == {"id": me["id"], "userPrincipalName": http_tenant.admin}
    assert added["correlationId"] == created.headers["request-id"]
    assert (added["category"], added["operationType"], added["result"]) == (
        "UserManagement",
        "Add",
        "success",
    )
    assert added["loggedByService"] == "Core Directory"
    target = added["targetResources"][0]
    assert (target["id"], target["type"], target["userPrincipalName"]) == (
        user["id"],
        "User",
        http_tenant.upn("una"),
    )
    assert "password" not in str(added).lower().replace("passwordprofile", "")
    renamed = {p["displayName"]: p for p in about_una[2]["targetResources"][0]["modifiedProperties"]}
    assert (renamed["DisplayName"]["oldValue"], renamed["DisplayName"]["newValue"]) == ('"Una"', '"Unity"')
    assert about_una[0]["targetResources"][1]["id"] == group["id"]

    one = http.get(f"{west.url}{AUDITS}/{added['id']}", headers=admin_headers)
    assert one.status_code == 200
    assert one.json()["activityDisplayName"] == "Add user"
    for condition, expected in [
        ("activityDisplayName eq 'Add group'", {"Add group"}),
        (
            "category eq 'GroupManagement' and startswith(activityDisplayName, 'Add')",
            {"Add group", "Add member to group"},
        ),
        (f"initiatedBy/user/id eq '{me['id']}' and activityDateTime ge {started}", None),
    ]:
        names = {
            a["activityDisplayName"]
            for a in audits(http, west.url, admin_headers, last, **{"$filter": condition})
        }
        assert (
            names == expected if expected is not None else {"Add user", "Update user", "Add group"} <= names
        )
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert audits(http, west.url, admin_headers, last, **{"$filter": f"activityDateTime ge {later}"}) == []


def test_pages_follow_next_links_newest_first(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    for name in ("p1", "p2", "p3"):
        last = http.post(
            f"{west.url}/v1.0/users", headers=admin_headers, json=user_body(http_tenant.upn(name), name)
        )
    seen: list[dict[str, Any]] = []
    url: str | None = f"{west.url}{AUDITS}?$top=2&$orderby=activityDateTime desc"
    while url is not None and len(seen) < 50:
        page = http.get(url, headers={**admin_headers, CONSISTENCY: last.headers[CONSISTENCY]}).json()
        seen += page["value"]
        url = page.get("@odata.nextLink")
    times = [a["activityDateTime"] for a in seen]
    assert times == sorted(times, reverse=True)
    assert len({a["id"] for a in seen}) == len(seen) >= 5, "tenant, admin and three users, each once"


@pytest.mark.parametrize(
    "params",
    [
        {"$filter": "displayName eq 'x'"},
        {"$filter": "activityDateTime ge yesterday"},
        {"$filter": "category eq 'a' or category eq 'b'"},
        {"$orderby": "activityDateTime asc"},
        {"$skiptoken": "forged"},
        {"$expand": "x"},
    ],
)
def test_queries_the_audit_log_does_not_serve_are_400(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str], params: dict[str, str]
) -> None:
    assert http.get(f"{west.url}{AUDITS}", headers=admin_headers, params=params).status_code == 400


def test_an_auditing_application_reads_them_and_a_plain_user_cannot(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    tenant = web_app.tenant
    grant_app_roles(
        http, west.url, admin_headers, web_app.client_id, ("AuditLog.Read.All", "User.ReadWrite.All")
    )
    token = app_token(http, west.url, web_app, ["AuditLog.Read.All", "User.ReadWrite.All"])
    as_app = {"Authorization": f"Bearer {token}"}
    made = http.post(
        f"{west.url}/v1.0/users", headers=as_app, json=user_body(tenant.upn("bot"), "Bot", "Pw-1234567!")
    )
    assert made.status_code == 201, made.text
    mine = audits(
        http, west.url, as_app, made, **{"$filter": f"initiatedBy/app/appId eq '{web_app.client_id}'"}
    )
    assert [a["activityDisplayName"] for a in mine] == ["Add user"]
    principal = http.get(
        f"{west.url}/v1.0/servicePrincipals(appId='{web_app.client_id}')", headers=admin_headers
    )
    assert mine[0]["initiatedBy"] == {
        "user": None,
        "app": {
            "appId": web_app.client_id,
            "displayName": "Web",
            "servicePrincipalId": principal.json()["id"],
        },
    }
    plain = sign_in(http, west.url, tenant.domain, tenant.upn("bot"), "Pw-1234567!")["access_token"]
    refused = http.get(f"{west.url}{AUDITS}", headers={"Authorization": f"Bearer {plain}"})
    assert refused.status_code == 403


async def test_the_graph_sdk_reads_the_directory_audits(
    cluster: ClusterState, http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    token = sign_in(http, west.url, http_tenant.domain, http_tenant.admin)["access_token"]
    async with graph_client(cluster, west.url, token) as graph:
        query = DirectoryAuditsRequestBuilder.DirectoryAuditsRequestBuilderGetQueryParameters(
            filter="category eq 'DirectoryManagement'", top=5
        )
        page = await graph.audit_logs.directory_audits.get(RequestConfiguration(query_parameters=query))
        assert page is not None
        assert page.value is not None
        assert [a.activity_display_name for a in page.value] == ["Create company"]
        found = page.value[0]
        assert found.id is not None
        one = await graph.audit_logs.directory_audits.by_directory_audit_id(found.id).get()
        assert one is not None
        assert one.logged_by_service == "Core Directory"
        assert one.target_resources is not None
        assert one.target_resources[0].id == http_tenant.id
