"""App role assignments over HTTP: an application holds exactly the Graph app roles assigned to it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from auth_service.http.deps import CONSISTENCY_HEADER
from devtools.client import grant_app_roles, user_body
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState
from tests.auth_service.conftest import create_tenant, sign_in
from tests.auth_service.signin_flow import RegisteredApp, app_token, create_app, token_roles
from tests.auth_service.test_http import graph_error
from tests.primary import rows_of

GRAPH = "00000003-0000-0000-c000-000000000000"
USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"
GROUP_READ_WRITE_ALL = "62a82d76-70ea-41e2-9197-370581804d09"


def _get(http: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = http.get(url, headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _ids(http: httpx.Client, url: str, headers: dict[str, str], app: RegisteredApp) -> tuple[str, str]:
    """The Graph service principal's id and the application's service principal id (read where
    the app's creation is visible: a replica may not have replayed it yet)."""
    if app.consistency is not None:
        headers = {**headers, CONSISTENCY_HEADER: app.consistency}
    graph = _get(http, f"{url}/v1.0/servicePrincipals(appId='{GRAPH}')", headers)
    principal = _get(http, f"{url}/v1.0/servicePrincipals(appId='{app.client_id}')", headers)
    return graph["id"], principal["id"]


def test_graph_lists_its_app_roles_with_microsofts_ids(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str]
) -> None:
    graph = _get(http, f"{west.url}/v1.0/servicePrincipals(appId='{GRAPH}')", admin_headers)
    roles = {r["value"]: r["id"] for r in graph["appRoles"]}
    assert roles["User.Read.All"] == USER_READ_ALL
    assert roles["Directory.ReadWrite.All"] == "19dbc75e-c2e2-444c-a770-ec69d8559fc7"
    assert graph["displayName"] == "Microsoft Graph"


def test_an_app_holds_only_what_was_assigned_until_it_is_removed(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    graph_id, principal_id = _ids(http, west.url, admin_headers, web_app)
    bare = {"Authorization": f"Bearer {app_token(http, west.url, web_app, [])}"}
    assert graph_error(http.get(f"{west.url}/v1.0/users", headers=bare), 403) == "Authorization_RequestDenied"

    body = {"principalId": principal_id, "resourceId": graph_id, "appRoleId": GROUP_READ_WRITE_ALL}
    made = http.post(
        f"{west.url}/v1.0/servicePrincipals/{principal_id}/appRoleAssignments",
        headers=admin_headers,
        json=body,
    )
    assert made.status_code == 201, made.text
    assert made.json()["resourceDisplayName"] == "Microsoft Graph"
    headers = {"Authorization": f"Bearer {app_token(http, west.url, web_app, ['Group.ReadWrite.All'])}"}
    group = {"displayName": "Ops", "mailNickname": "ops", "mailEnabled": False, "securityEnabled": True}
    assert http.get(f"{west.url}/v1.0/groups", headers=headers).status_code == 200
    created = http.post(f"{west.url}/v1.0/groups", headers=headers, json=group)
    assert created.status_code == 201, created.text
    assert graph_error(http.get(f"{west.url}/v1.0/users", headers=headers), 403)  # groups only
    user = user_body(f"x@{web_app.tenant.domain}", "X", "Xx-passw0rd!")
    assert graph_error(http.post(f"{west.url}/v1.0/users", headers=headers, json=user), 403)

    listed = _get(http, f"{west.url}/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo", admin_headers)
    assert [(a["principalId"], a["appRoleId"]) for a in listed["value"]] == [
        (principal_id, GROUP_READ_WRITE_ALL)
    ]
    mine = _get(http, f"{west.url}/v1.0/servicePrincipals/{principal_id}/appRoleAssignments", admin_headers)
    assert [a["id"] for a in mine["value"]] == [made.json()["id"]]

    unknown = http.get(
        f"{west.url}/v1.0/servicePrincipals/{uuid.uuid4()}/appRoleAssignments", headers=admin_headers
    )
    assert graph_error(unknown, 404) == "Request_ResourceNotFound"

    gone = http.delete(
        f"{west.url}/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo/{made.json()['id']}",
        headers=admin_headers,
    )
    assert gone.status_code == 204
    assert token_roles(app_token(http, west.url, web_app, [])) == []
    assert (
        _get(http, f"{west.url}/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo", admin_headers)["value"]
        == []
    )


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown role", 400),
        ("a role id that is not a uuid", 400),
        ("principal is no service principal", 404),
        ("principal of another tenant", 404),
        ("resource is not Graph", 404),
        ("resourceId is not the path's", 400),
        ("the same grant twice", 409),
    ],
)
def test_bad_assignments_are_refused_and_write_nothing(
    cluster: ClusterState,
    http: httpx.Client,
    west: FrontEndProcess,
    web_app: RegisteredApp,
    admin_headers: dict[str, str],
    case: str,
    status: int,
) -> None:
    graph_id, principal_id = _ids(http, west.url, admin_headers, web_app)
    body = {"principalId": principal_id, "resourceId": graph_id, "appRoleId": USER_READ_ALL}
    path = graph_id
    if case == "unknown role":
        body["appRoleId"] = str(uuid.uuid4())
    elif case == "a role id that is not a uuid":
        body["appRoleId"] = "User.Read.All"
    elif case == "principal is no service principal":
        body["principalId"] = graph_id
    elif case == "principal of another tenant":
        other = create_tenant(http, west.url, cluster.credentials.operator)
        other_headers = {
            "Authorization": f"Bearer {sign_in(http, west.url, other.domain, other.admin)['access_token']}"
        }
        foreign = create_app(http, west.url, other, other_headers)
        body["principalId"] = _ids(http, west.url, other_headers, foreign)[1]
    elif case == "resource is not Graph":
        body["resourceId"] = path = principal_id
    elif case == "resourceId is not the path's":
        path = principal_id
    elif case == "the same grant twice":
        grant_app_roles(http, west.url, admin_headers, web_app.client_id, ("User.Read.All",))
    answer = http.post(
        f"{west.url}/v1.0/servicePrincipals/{path}/appRoleAssignedTo", headers=admin_headers, json=body
    )
    graph_error(answer, status)
    tenant = web_app.tenant
    stored = asyncio.run(rows_of(cluster, tenant.scale_unit, "app_role_assignments", tenant.id))
    assert stored == (1 if case == "the same grant twice" else 0), "read on the primary: nothing written"


def test_only_a_writer_assigns(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    """An app that may read everything still cannot grant itself more."""
    grant_app_roles(http, west.url, admin_headers, web_app.client_id, ("Directory.Read.All",))
    headers = {"Authorization": f"Bearer {app_token(http, west.url, web_app, ['Directory.Read.All'])}"}
    graph_id, principal_id = _ids(http, west.url, headers, web_app)
    body = {
        "principalId": principal_id,
        "resourceId": graph_id,
        "appRoleId": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    }
    answer = http.post(
        f"{west.url}/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo", headers=headers, json=body
    )
    assert graph_error(answer, 403) == "Authorization_RequestDenied"


def test_assignment_permission_writes_assignments_not_principals(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    graph_id, principal_id = _ids(http, west.url, admin_headers, web_app)
    grant_app_roles(http, west.url, admin_headers, web_app.client_id, ("AppRoleAssignment.ReadWrite.All",))
    token = app_token(http, west.url, web_app, ["AppRoleAssignment.ReadWrite.All"])
    headers = {"Authorization": f"Bearer {token}"}
    body = {"principalId": principal_id, "resourceId": graph_id, "appRoleId": USER_READ_ALL}
    assigned = http.post(
        f"{west.url}/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo", headers=headers, json=body
    )
    assert assigned.status_code == 201, assigned.text
    renamed = http.patch(
        f"{west.url}/v1.0/servicePrincipals/{principal_id}", headers=headers, json={"displayName": "x"}
    )
    assert graph_error(renamed, 403) == "Authorization_RequestDenied"
    gone = http.delete(f"{west.url}/v1.0/servicePrincipals/{principal_id}", headers=headers)
    assert graph_error(gone, 403) == "Authorization_RequestDenied"
