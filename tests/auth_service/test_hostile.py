"""Hostile requests get a Graph-shaped 4xx, nothing is half-written, and the server keeps serving."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devtools.client import CreatedTenant, connect, user_body
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState
from tests.auth_service.test_http import graph_error
from tests.primary import rows_of

SQLISH = ["'; DROP TABLE users; --", "x' OR '1'='1", "\\' UNION SELECT * FROM pg_roles --", "Robert'); --"]


@pytest.mark.parametrize("text", SQLISH)
def test_sql_looking_values_are_just_data(
    http: httpx.Client,
    west: FrontEndProcess,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
    text: str,
) -> None:
    created = http.post(
        f"{west.url}/v1.0/users",
        headers=admin_headers,
        json=user_body(http_tenant.upn(f"u{uuid.uuid4().hex[:6]}"), text),
    )
    assert created.status_code == 201
    assert created.json()["displayName"] == text
    quoted = text.replace("'", "''")
    own_write = {**admin_headers, "x-corestore-consistency": created.headers["x-corestore-consistency"]}
    found = http.get(
        f"{west.url}/v1.0/users", headers=own_write, params={"$filter": f"displayName eq '{quoted}'"}
    )
    assert [u["displayName"] for u in found.json()["value"]] == [text]
    raw = http.get(
        f"{west.url}/v1.0/users", headers=admin_headers, params={"$filter": f"displayName eq {text}"}
    )
    assert raw.status_code == 400


# Each body is a valid new user but for its one defect, so only the defect can refuse it.
VALID = b'"accountEnabled": true, "mailNickname": "hostile", "userPrincipalName": "@UPN@"'
BAD_BODIES: list[tuple[str, bytes]] = [
    ("unknown field", b"{" + VALID + b', "displayName": "x", "isRoot": true}'),
    ("wrong type", b"{" + VALID + b', "displayName": 7}'),
    ("null name", b"{" + VALID + b', "displayName": null}'),
    ("invalid utf-8", b"{" + VALID + b', "displayName": "\xff\xfe"}'),
    ("not json", b"displayName=x"),
    ("array", b"[1, 2, 3]"),
    ("deep", b"{" + VALID + b', "displayName": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"),
    ("nul", b"{" + VALID + b', "displayName": "a\\u0000b"}'),
]


@pytest.mark.parametrize(("name", "body"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_get_400_and_write_nothing(
    http: httpx.Client,
    west: FrontEndProcess,
    cluster: ClusterState,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
    name: str,
    body: bytes,
) -> None:
    """Refused with 400 and no user row on the primary; the same body without its defect is written
    (the positive control that proves the count would see a write)."""
    upn = http_tenant.upn("hostile").encode()
    users = f"{west.url}/v1.0/users"
    headers = {**admin_headers, "Content-Type": "application/json"}
    before = asyncio.run(rows_of(cluster, http_tenant.scale_unit, "users", http_tenant.id))
    response = http.post(users, content=body.replace(b"@UPN@", upn), headers=headers)
    assert graph_error(response, 400) == "Request_BadRequest", name
    assert asyncio.run(rows_of(cluster, http_tenant.scale_unit, "users", http_tenant.id)) == before
    control = b"{" + VALID.replace(b"@UPN@", upn) + b', "displayName": "x"}'
    assert http.post(users, content=control, headers=headers).status_code == 201
    assert asyncio.run(rows_of(cluster, http_tenant.scale_unit, "users", http_tenant.id)) == before + 1
    assert http.get(f"{west.url}/openapi.json").status_code == 200, "still serving"


@pytest.mark.parametrize(
    "object_id", ["../../etc/passwd", "..%2F..%2Fetc", "%00", "' OR 1=1 --", "a" * 300, str(uuid.uuid4())]
)
def test_odd_ids_are_simply_not_found(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str], object_id: str
) -> None:
    for kind in ("users", "groups", "devices", "applications"):
        response = http.get(f"{west.url}/v1.0/{kind}/{object_id}", headers=admin_headers)
        assert response.status_code in (400, 404), (kind, response.status_code)
        assert "error" in response.json()


def test_two_creates_of_one_principal_name_at_once_one_wins(
    cluster: ClusterState,
    west: FrontEndProcess,
    north: FrontEndProcess,
    http_tenant: CreatedTenant,
    admin_headers: dict[str, str],
) -> None:
    import concurrent.futures

    body = user_body(http_tenant.upn("race"), "Race")

    def create(url: str) -> int:
        with connect(cluster.directory) as http:
            return http.post(f"{url}/v1.0/users", headers=admin_headers, json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(create, [west.url, north.url, west.url, north.url]))
    assert statuses == [201, 409, 409, 409]


def test_oversized_bodies_are_refused_before_buffering(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str]
) -> None:
    huge = b'{"displayName": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    declared = http.post(f"{west.url}/v1.0/users", content=huge, headers=admin_headers)
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "Request_EntityTooLarge"

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * 65536

    streamed = http.post(f"{west.url}/v1.0/users", content=chunks(), headers=admin_headers)
    assert streamed.status_code == 413
