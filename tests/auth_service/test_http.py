"""The front end as users meet it: real processes, real cluster, Graph-shaped answers."""

from __future__ import annotations

import base64
import json
import re
import time

import httpx
import jwt
import pytest

from devtools.client import CreatedTenant, grant_app_roles, user_body
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD, create_tenant, sign_in
from tests.auth_service.signin_flow import RegisteredApp, app_token

CONSISTENCY = "x-corestore-consistency"
SERVER = "x-corestore-server"


def graph_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"code", "message"}
    return str(error["code"])


def test_operator_credential_is_required(http: httpx.Client, west: FrontEndProcess) -> None:
    response = http.post(f"{west.url}/operator/tenants", headers={"Authorization": "Bearer nope"}, json={})
    assert graph_error(response, 401) == "InvalidAuthenticationToken"


def test_sign_in_by_domain_or_id_and_verify_with_published_keys(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    by_domain = sign_in(http, west.url, http_tenant.domain, http_tenant.admin)
    sign_in(http, west.url, http_tenant.id, http_tenant.admin)
    config = http.get(f"{west.url}/{http_tenant.domain}/v2.0/.well-known/openid-configuration").json()
    jwks = http.get(config["jwks_uri"]).json()
    header = jwt.get_unverified_header(by_domain["access_token"])
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        by_domain["access_token"],
        key,
        algorithms=[header["alg"]],
        audience=jwt.decode(by_domain["access_token"], options={"verify_signature": False})["aud"],
        issuer=config["issuer"],
    )
    assert claims["tid"] == http_tenant.id
    assert {"iss", "aud", "exp", "nbf", "iat", "tid", "oid", "sub"} <= set(claims)


def test_failed_sign_in_looks_the_same_whether_or_not_the_user_exists(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    url = f"{west.url}/{http_tenant.domain}/oauth2/v2.0/token"
    wrong = http.post(url, data={"grant_type": "password", "username": http_tenant.admin, "password": "x"})
    ghost = http.post(
        url, data={"grant_type": "password", "username": http_tenant.upn("ghost"), "password": "x"}
    )
    assert wrong.status_code == ghost.status_code == 400
    assert wrong.json() == ghost.json()


def test_repeated_failures_lock_the_user_out(
    http: httpx.Client, north: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    url = f"{north.url}/{http_tenant.domain}/oauth2/v2.0/token"
    form = {"grant_type": "password", "username": http_tenant.admin, "password": "wrong"}
    for _ in range(10):
        http.post(url, data=form)
    locked = http.post(url, data={**form, "password": PASSWORD})
    assert locked.status_code == 400
    assert "locked" in locked.json()["error_description"]
    assert int(locked.headers["Retry-After"]) >= 1


def test_user_crud_etag_conflict_and_paging(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    users = f"{west.url}/v1.0/users"
    created = http.post(
        users,
        headers=admin_headers,
        json=user_body(http_tenant.upn("bob"), "Bob"),
    )
    assert created.status_code == 201, created.text
    bob = created.json()
    assert bob["userPrincipalName"] == http_tenant.upn("bob")
    assert "passwordHash" not in bob
    dup = http.post(users, headers=admin_headers, json=user_body(http_tenant.upn("BOB"), "B"))
    assert graph_error(dup, 409) == "Request_MultipleObjectsWithSameKeyValue"
    stale = http.patch(
        f"{users}/{bob['id']}",
        headers={**admin_headers, "If-Match": 'W/"99"'},
        json={"displayName": "Robert"},
    )
    assert graph_error(stale, 412) == "Request_PreconditionFailed"
    fresh = http.patch(
        f"{users}/{bob['id']}",
        headers={**admin_headers, "If-Match": created.headers["ETag"]},
        json={"displayName": "Robert"},
    )
    assert fresh.status_code == 204
    # Reads go to replicas: each carries the last write's commit position, as a client that
    # must read its own writes does (without it a replica may not have replayed them yet).
    last = fresh
    for i in range(4):
        last = http.post(
            users,
            headers={**admin_headers, CONSISTENCY: last.headers[CONSISTENCY]},
            json=user_body(http_tenant.upn(f"u{i}"), f"U{i}"),
        )
    after_writes = {**admin_headers, CONSISTENCY: last.headers[CONSISTENCY]}
    seen: list[str] = []
    url: str | None = f"{users}?$top=2&$select=displayName"
    while url:
        page = http.get(url, headers=after_writes).json()
        seen += [u["id"] for u in page["value"]]
        assert all(set(u) <= {"@odata.type", "id", "displayName"} for u in page["value"])
        url = page.get("@odata.nextLink")
    assert len(seen) == len(set(seen)) == 6
    filtered = http.get(
        users, headers=after_writes, params={"$filter": "startswith(displayName, 'Rob')"}
    ).json()
    assert [u["displayName"] for u in filtered["value"]] == ["Robert"]
    deleted = http.delete(f"{users}/{bob['id']}", headers=after_writes)
    assert deleted.status_code == 204
    gone = http.get(
        f"{users}/{bob['id']}", headers={**admin_headers, CONSISTENCY: deleted.headers[CONSISTENCY]}
    )
    assert graph_error(gone, 404) == "Request_ResourceNotFound"


def test_read_your_writes_through_another_region(
    http: httpx.Client,
    west: FrontEndProcess,
    north: FrontEndProcess,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
    cluster: ClusterState,
) -> None:
    unit = cluster.discover().scale_units[http_tenant.scale_unit]
    created = http.post(
        f"{west.url}/v1.0/users",
        headers=admin_headers,
        json=user_body(http_tenant.upn("carol"), "v0"),
    )
    user_id = created.json()["id"]
    assert created.headers[SERVER] == unit.primary.name
    token = created.headers[CONSISTENCY]
    for i in range(1, 15):
        patched = http.patch(
            f"{west.url}/v1.0/users/{user_id}",
            headers={**admin_headers, CONSISTENCY: token},
            json={"displayName": f"v{i}"},
        )
        token = patched.headers[CONSISTENCY]
        read = http.get(f"{north.url}/v1.0/users/{user_id}", headers={**admin_headers, CONSISTENCY: token})
        assert read.json()["displayName"] == f"v{i}"
        assert read.headers[SERVER] in {r.name for r in unit.replicas}, (
            "reads go to a replica of the tenant's unit"
        )
        assert read.headers["x-corestore-region"] == "northeurope"


def test_a_token_never_reaches_another_tenants_data(
    http: httpx.Client,
    west: FrontEndProcess,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
    cluster: ClusterState,
) -> None:
    other = create_tenant(http, west.url, cluster.credentials.operator)
    other_headers = {
        "Authorization": f"Bearer {sign_in(http, west.url, other.domain, other.admin)['access_token']}"
    }
    mine = http.get(f"{west.url}/v1.0/me", headers=admin_headers).json()
    assert graph_error(http.get(f"{west.url}/v1.0/users/{mine['id']}", headers=other_headers), 404)
    assert graph_error(http.get(f"{west.url}/v1.0/users/{http_tenant.admin}", headers=other_headers), 404)
    listed = http.get(f"{west.url}/v1.0/users", headers=other_headers).json()["value"]
    assert [u["userPrincipalName"] for u in listed] == [other.admin]


def _tamper(token: str, **claims: object) -> str:
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize("mangle", ["tid", "signature", "garbage", "missing", "none"])
def test_tampered_or_missing_tokens_get_401(
    http: httpx.Client,
    west: FrontEndProcess,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
    cluster: ClusterState,
    mangle: str,
) -> None:
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    other = create_tenant(http, west.url, cluster.credentials.operator) if mangle == "tid" else None
    bad = {
        "tid": _tamper(token, tid=other.id if other else ""),
        "signature": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        "garbage": "not.a.token",
        "missing": "",
        "none": jwt.encode(jwt.decode(token, options={"verify_signature": False}), key="", algorithm="none"),
    }[mangle]
    headers = {"Authorization": f"Bearer {bad}"} if bad else {}
    assert (
        graph_error(http.get(f"{west.url}/v1.0/users", headers=headers), 401) == "InvalidAuthenticationToken"
    )


def test_app_signs_in_with_client_credentials(
    http: httpx.Client,
    west: FrontEndProcess,
    north: FrontEndProcess,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
) -> None:
    app = http.post(
        f"{west.url}/v1.0/applications", headers=admin_headers, json={"displayName": "Daemon"}
    ).json()
    principal = {"appId": app["appId"]}
    assert (
        http.post(f"{west.url}/v1.0/servicePrincipals", headers=admin_headers, json=principal).status_code
        == 201
    )
    secret = http.post(
        f"{west.url}/v1.0/applications/{app['id']}/addPassword", headers=admin_headers, json={}
    ).json()
    form = {
        "grant_type": "client_credentials",
        "client_id": app["appId"],
        "client_secret": secret["secretText"],
    }
    token = http.post(f"{north.url}/{http_tenant.domain}/oauth2/v2.0/token", data=form)
    assert token.status_code == 200, token.text
    app_headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert graph_error(http.get(f"{north.url}/v1.0/users", headers=app_headers), 403)  # no role assigned
    grant_app_roles(http, west.url, admin_headers, app["appId"], ("User.Read.All",))
    registered = RegisteredApp(http_tenant, app["id"], app["appId"], secret["secretText"])
    app_headers = {"Authorization": f"Bearer {app_token(http, north.url, registered, ['User.Read.All'])}"}
    assert http.get(f"{north.url}/v1.0/users", headers=app_headers).status_code == 200
    wrong = http.post(
        f"{north.url}/{http_tenant.domain}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": app["appId"], "client_secret": "wrong"},
    )
    assert wrong.status_code == 401
    principals = http.get(f"{west.url}/v1.0/servicePrincipals", headers=admin_headers).json()["value"]
    assert [p["appId"] for p in principals] == [app["appId"]]


def test_refresh_token_gives_a_new_access_token(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    first = sign_in(http, west.url, http_tenant.domain, http_tenant.admin)
    url = f"{west.url}/{http_tenant.domain}/oauth2/v2.0/token"
    refreshed = http.post(url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert http.get(f"{west.url}/v1.0/me", headers=headers).json()["userPrincipalName"] == http_tenant.admin
    as_access = {"Authorization": f"Bearer {first['refresh_token']}"}
    assert graph_error(http.get(f"{west.url}/v1.0/me", headers=as_access), 401)


def security_group(name: str) -> dict[str, object]:
    return {"displayName": name, "mailNickname": name.lower(), "mailEnabled": False, "securityEnabled": True}


def test_groups_members_and_sign_in_logs(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    v1 = f"{west.url}/v1.0"
    user = http.post(
        f"{v1}/users",
        headers=admin_headers,
        json=user_body(http_tenant.upn("dave"), "Dave", "Dave-passw0rd!"),
    ).json()
    outer = http.post(f"{v1}/groups", headers=admin_headers, json=security_group("Outer")).json()
    inner = http.post(f"{v1}/groups", headers=admin_headers, json=security_group("Inner")).json()
    for group, member in ((inner, user), (outer, inner)):
        ref = {"@odata.id": f"{v1}/directoryObjects/{member['id']}"}
        assert (
            http.post(f"{v1}/groups/{group['id']}/members/$ref", headers=admin_headers, json=ref).status_code
            == 204
        )
    transitive = http.get(f"{v1}/groups/{outer['id']}/transitiveMembers", headers=admin_headers).json()[
        "value"
    ]
    assert {m["id"] for m in transitive} == {inner["id"], user["id"]}
    member_of = http.get(f"{v1}/users/{user['id']}/transitiveMemberOf", headers=admin_headers).json()["value"]
    assert {g["id"] for g in member_of} == {inner["id"], outer["id"]}
    removed = http.delete(f"{v1}/groups/{inner['id']}/members/{user['id']}/$ref", headers=admin_headers)
    assert removed.status_code == 204
    assert CONSISTENCY in removed.headers, "the removal committed: it has a commit position"
    after = {**admin_headers, CONSISTENCY: removed.headers[CONSISTENCY]}  # read our own removal
    assert http.get(f"{v1}/groups/{inner['id']}/members", headers=after).json()["value"] == []
    member_of = http.get(f"{v1}/users/{user['id']}/transitiveMemberOf", headers=after).json()["value"]
    assert member_of == [], "no longer in inner, so no longer (transitively) in outer"
    assert _eventually_logged(http, v1, admin_headers), "the admin's sign-in, written in the background"
    dave = sign_in(http, west.url, http_tenant.domain, http_tenant.upn("dave"), "Dave-passw0rd!")
    dave_headers = {"Authorization": f"Bearer {dave['access_token']}"}
    assert (
        graph_error(http.get(f"{v1}/auditLogs/signIns", headers=dave_headers), 403)
        == "Authorization_RequestDenied"
    )
    assert graph_error(
        http.post(f"{v1}/groups", headers=dave_headers, json={"displayName": "x", "mailNickname": "x"}), 403
    )


def _eventually_logged(http: httpx.Client, v1: str, headers: dict[str, str]) -> bool:
    """Log rows are committed after the grant answers (within ~100 ms) and read from a replica."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        logs = http.get(f"{v1}/auditLogs/signIns", headers=headers).json()["value"]
        if any(entry["status"] == "success" and entry["region"] == "westeurope" for entry in logs):
            return True
        time.sleep(0.1)
    return False


def _token(parts: list[object]) -> str:
    """A skip token as a caller could forge one (the API's are base64 JSON too)."""
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


ID = "00000000-0000-0000-0000-000000000001"


BAD_QUERIES = [
    ("/v1.0/users", {"$filter": "displayName eq 'x' or 1=1 --"}),
    ("/v1.0/users", {"$top": "100000"}),
    ("/v1.0/users", {"$filter": "passwordHash eq 'x'"}),
    ("/v1.0/users", {"$skiptoken": "@@@"}),
    ("/v1.0/users", {"$skiptoken": _token(["id", None, 123])}),  # forged: an id that is no text
    ("/v1.0/users", {"$orderby": "createdDateTime", "$skiptoken": _token(["createdDateTime", "x", ID])}),
    ("/v1.0/users", {"$select": "nope"}),
]


@pytest.mark.parametrize(("path", "params"), BAD_QUERIES)
def test_bad_queries_get_400(
    http: httpx.Client,
    west: FrontEndProcess,
    admin_headers: dict[str, str],
    path: str,
    params: dict[str, str],
) -> None:
    assert (
        graph_error(http.get(f"{west.url}{path}", headers=admin_headers, params=params), 400)
        == "Request_BadRequest"
    )


MALFORMED = '{"displayName": '  # JSON cut short: FastAPI would refuse it before any dependency ran


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        *(("GET", path, params, None) for path, params in BAD_QUERIES),
        ("GET", "/v1.0/users/$count", {}, None),  # no ConsistencyLevel: eventual
        ("GET", "/v1.0/me", {"$expand": "manager"}, None),
        ("GET", "/v1.0/groups/x/members", {"$skiptoken": "@@@"}, None),
        ("GET", "/v1.0/organization", {"$top": "x"}, None),
        ("GET", "/v1.0/auditLogs/signIns", {"$top": "-1"}, None),
        ("GET", "/v1.0/users/delta", {"$deltatoken": "@@@"}, None),
        ("POST", "/v1.0/users", {}, MALFORMED),
        ("PATCH", f"/v1.0/groups/{ID}", {}, MALFORMED),
        ("POST", f"/v1.0/groups/{ID}/members/$ref", {}, MALFORMED),
        ("POST", f"/v1.0/applications/{ID}/addPassword", {}, MALFORMED),
        ("POST", f"/v1.0/servicePrincipals/{ID}/appRoleAssignments", {}, MALFORMED),
        ("POST", f"/v1.0/servicePrincipals/{ID}/appRoleAssignedTo", {}, '{"principalId": 5}'),
        ("POST", "/v1.0/$batch", {}, MALFORMED),
        ("POST", "/operator/tenants", {}, MALFORMED),
    ],
)
def test_an_anonymous_malformed_request_is_a_401(
    http: httpx.Client,
    west: FrontEndProcess,
    method: str,
    path: str,
    params: dict[str, str],
    body: str | None,
) -> None:
    """As Graph answers: who is calling is checked before what is asked, in a query or a body."""
    headers = {} if body is None else {"Content-Type": "application/json"}
    answer = http.request(method, f"{west.url}{path}", params=params, content=body, headers=headers)
    assert graph_error(answer, 401) == "InvalidAuthenticationToken"


def test_openapi_document_is_served(http: httpx.Client, west: FrontEndProcess) -> None:
    spec = http.get(f"{west.url}/openapi.json").json()
    assert "/v1.0/users" in spec["paths"]
    assert "/{tenant}/oauth2/v2.0/token" in spec["paths"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ('{"grant_type": "password"}', "application/json"),
        ("grant_type=password&grant_type=client_credentials", "application/x-www-form-urlencoded"),
        ("username=x", "application/x-www-form-urlencoded"),
        (b"grant_type=\xff", "application/x-www-form-urlencoded"),
    ],
)
def test_token_requests_that_are_not_one_form_get_invalid_request(
    http: httpx.Client,
    west: FrontEndProcess,
    http_tenant: CreatedTenant,
    content: str | bytes,
    content_type: str,
) -> None:
    """RFC 6749: an urlencoded form, each parameter at most once, grant_type present."""
    response = http.post(
        f"{west.url}/{http_tenant.id}/oauth2/v2.0/token",
        content=content,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_405_allows_every_method_of_its_path(http: httpx.Client, west: FrontEndProcess) -> None:
    """No route takes PUT, so PUT on each documented path is a 405 naming all the path's methods."""
    spec = http.get(f"{west.url}/openapi.json").json()
    wrong: dict[str, tuple[int, str]] = {}
    for template, operations in spec["paths"].items():
        path = re.sub(r"\{[^}]+\}", "x0", template)
        response = http.put(f"{west.url}{path}")
        allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
        if response.status_code != 405 or not {m.upper() for m in operations} <= allowed:
            wrong[template] = (response.status_code, response.headers.get("Allow", ""))
    assert not wrong, wrong
