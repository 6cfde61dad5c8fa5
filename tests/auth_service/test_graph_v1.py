"""Graph v1.0 as a Graph client sees it over HTTP: property names, query options, /organization."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from devtools.client import CreatedTenant, user_body
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState
from tests.auth_service.conftest import sign_in
from tests.primary import rows_of

EVENTUAL = {"ConsistencyLevel": "eventual"}


def graph_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    assert response.json()["error"]["message"]
    return code


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_users_have_graphs_properties_and_a_password_profile(
    cluster: ClusterState,
    http: httpx.Client,
    west: FrontEndProcess,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
) -> None:
    users = f"{west.url}/v1.0/users"
    erin = created(
        http.post(
            users, headers=admin_headers, json=user_body(http_tenant.upn("erin"), "Erin", "Er1n-passw0rd!")
        )
    )
    assert erin["@odata.context"] == f"{west.url}/v1.0/$metadata#users/$entity"
    assert erin["mailNickname"] == "erin"
    assert erin["accountEnabled"] is True
    assert erin["createdDateTime"].endswith("Z")
    assert not {"createdAt", "updatedAt", "admin", "version", "extension", "passwordProfile"} & set(erin)
    assert sign_in(http, west.url, http_tenant.domain, http_tenant.upn("erin"), "Er1n-passw0rd!")[
        "access_token"
    ]
    before = asyncio.run(rows_of(cluster, http_tenant.scale_unit, "users", http_tenant.id))
    for body in (
        {k: v for k, v in user_body(http_tenant.upn("x"), "X").items() if k != "mailNickname"},
        {**user_body(http_tenant.upn("x"), "X"), "extension": {"a": 1}},
        {**user_body(http_tenant.upn("x"), "X"), "createdDateTime": "2020-01-01T00:00:00Z"},
        {**user_body(http_tenant.upn("x"), "X"), "passwordProfile": {"forceChangePasswordNextSignIn": False}},
    ):
        assert graph_error(http.post(users, headers=admin_headers, json=body), 400) == "Request_BadRequest"
    after = asyncio.run(rows_of(cluster, http_tenant.scale_unit, "users", http_tenant.id))
    assert after == before, "read on the primary: nothing half-written"


def test_groups_applications_principals_and_devices_as_graph_has_them(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    v1 = f"{west.url}/v1.0"
    team = {"displayName": "Team", "mailNickname": "team", "mailEnabled": True, "securityEnabled": False}
    unified = created(
        http.post(f"{v1}/groups", headers=admin_headers, json={**team, "groupTypes": ["Unified"]})
    )
    assert (unified["groupTypes"], unified["mailEnabled"], unified["securityEnabled"]) == (
        ["Unified"],
        True,
        False,
    )
    mail_security = {**team, "mailNickname": "ms", "securityEnabled": True}
    assert graph_error(http.post(f"{v1}/groups", headers=admin_headers, json=mail_security), 400)
    odd_types = {**team, "mailNickname": "odd", "groupTypes": [{"Unified": True}]}
    assert graph_error(http.post(f"{v1}/groups", headers=admin_headers, json=odd_types), 400)
    security = http.get(f"{v1}/groups", headers=admin_headers, params={"$filter": "securityEnabled eq true"})
    assert security.json()["value"] == []

    web = {"redirectUris": ["https://app.example/callback"]}
    native = {"redirectUris": ["http://localhost"]}
    body = {"displayName": "App", "web": web, "publicClient": native}
    app = created(http.post(f"{v1}/applications", headers=admin_headers, json=body))
    assert app["web"] == web
    assert app["publicClient"] == native
    assert app["spa"] == {"redirectUris": []}
    assert app["appId"]
    spa = {"spa": {"redirectUris": ["https://app.example/spa"]}}
    assert http.patch(f"{v1}/applications/{app['id']}", headers=admin_headers, json=spa).status_code == 204
    again = http.get(f"{v1}/applications/{app['id']}", headers=admin_headers).json()
    assert again["web"] == web
    assert again["publicClient"] == native
    assert again["spa"] == spa["spa"]
    evil = {"displayName": "Evil", "web": {"redirectUris": ["http://evil.example/cb"]}}
    assert graph_error(http.post(f"{v1}/applications", headers=admin_headers, json=evil), 400)
    names = [a["displayName"] for a in http.get(f"{v1}/applications", headers=admin_headers).json()["value"]]
    assert names == ["App"], "the refused application was not written"

    assert http.get(f"{v1}/servicePrincipals", headers=admin_headers).json()["value"] == []
    principal = created(
        http.post(f"{v1}/servicePrincipals", headers=admin_headers, json={"appId": app["appId"]})
    )
    assert (principal["appId"], principal["displayName"]) == (app["appId"], "App")
    twice = http.post(f"{v1}/servicePrincipals", headers=admin_headers, json={"appId": app["appId"]})
    assert graph_error(twice, 409)
    stranger = {"appId": "00000000-0000-0000-0000-00000000abcd"}
    assert graph_error(http.post(f"{v1}/servicePrincipals", headers=admin_headers, json=stranger), 400)

    device = {
        "accountEnabled": True,
        "deviceId": "4c299165-6e8f-4b45-a5ba-c5d250a707ff",
        "displayName": "Laptop",
        "operatingSystem": "Windows",
        "operatingSystemVersion": "10.0.22631",
    }
    made = created(http.post(f"{v1}/devices", headers=admin_headers, json=device))
    assert {k: made[k] for k in device} == device
    assert made["trustType"] == "AzureAd"
    assert "registrationDateTime" in made
    assert "ownerId" not in made


def test_the_organization_is_the_callers_tenant(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    listed = http.get(f"{west.url}/v1.0/organization", headers=admin_headers).json()
    assert listed["@odata.context"] == f"{west.url}/v1.0/$metadata#organization"
    [org] = listed["value"]
    assert org["id"] == http_tenant.id
    assert org["countryLetterCode"] == "FR"
    assert [d["name"] for d in org["verifiedDomains"]] == [http_tenant.domain]
    assert org["verifiedDomains"][0]["isDefault"] is True
    one = http.get(f"{west.url}/v1.0/organization/{http_tenant.id}", headers=admin_headers)
    assert one.json()["displayName"] == org["displayName"]
    other = http.get(
        f"{west.url}/v1.0/organization/00000000-0000-0000-0000-000000000001", headers=admin_headers
    )
    assert graph_error(other, 404)


@pytest.fixture
def five_users(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> list[str]:
    names = ["Maria Lopez", "Ada Byron", "Bob Stone", "Zed Lopez", "Carl Jung"]  # one order in any collation
    for i, name in enumerate(names):
        created(
            http.post(
                f"{west.url}/v1.0/users",
                headers=admin_headers,
                json=user_body(http_tenant.upn(f"p{i}"), name),
            )
        )
    return names


def test_orderby_pages_in_order_and_count_and_search_need_eventual_consistency(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str], five_users: list[str]
) -> None:
    users = f"{west.url}/v1.0/users"
    seen: list[str] = []
    url: str | None = f"{users}?$orderby=displayName desc&$top=2&$select=displayName"
    while url is not None:
        page = http.get(url, headers=admin_headers).json()
        assert page["@odata.context"] == f"{west.url}/v1.0/$metadata#users(displayName)"
        seen += [u["displayName"] for u in page["value"]]
        url = page.get("@odata.nextLink")
    assert seen == sorted([*five_users, "Admin"], reverse=True)
    by_time = http.get(users, headers=admin_headers, params={"$orderby": "createdDateTime", "$top": 4}).json()
    after = http.get(by_time["@odata.nextLink"], headers=admin_headers).json()
    stamps = [u["createdDateTime"] for u in by_time["value"] + after["value"]]
    assert stamps == sorted(stamps)
    assert len(stamps) == 6

    counted = {"$count": "true", "$filter": "startswith(displayName, 'Z') or startswith(displayName, 'B')"}
    assert graph_error(http.get(users, headers=admin_headers, params=counted), 400) == "Request_BadRequest"
    answer = http.get(users, headers={**admin_headers, **EVENTUAL}, params={**counted, "$top": 1}).json()
    assert answer["@odata.count"] == 2
    assert len(answer["value"]) == 1
    assert graph_error(http.get(f"{users}/$count", headers=admin_headers), 400)
    total = http.get(f"{users}/$count", headers={**admin_headers, **EVENTUAL})
    assert (total.text, total.headers["content-type"].split(";")[0]) == ("6", "text/plain")

    search = {"$search": '"displayName:lop"'}
    assert graph_error(http.get(users, headers=admin_headers, params=search), 400)
    found = http.get(users, headers={**admin_headers, **EVENTUAL}, params=search).json()["value"]
    assert sorted(u["displayName"] for u in found) == ["Maria Lopez", "Zed Lopez"]
    both = {"$search": '"displayName:lop" AND "displayName:ze"'}
    assert [
        u["displayName"]
        for u in http.get(users, headers={**admin_headers, **EVENTUAL}, params=both).json()["value"]
    ] == ["Zed Lopez"]
    bad_search = http.get(users, headers={**admin_headers, **EVENTUAL}, params={"$search": "lopez"})
    assert graph_error(bad_search, 400)


@pytest.mark.parametrize(
    "query",
    [
        {"$expand": "memberOf"},
        {"$skip": "2"},
        {"$format": "json"},
        {"$xyz": "1"},
        {"$orderby": "mail"},
        {"$orderby": "displayName sideways"},
        {"$count": "yes"},
        {"$select": "createdAt"},
    ],
)
def test_a_query_option_we_do_not_serve_is_a_400(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str], query: dict[str, str]
) -> None:
    answer = http.get(f"{west.url}/v1.0/users", headers={**admin_headers, **EVENTUAL}, params=query)
    assert graph_error(answer, 400) == "Request_BadRequest"
