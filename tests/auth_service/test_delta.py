"""Delta queries over HTTP and through msgraph-sdk: a first round pages through everything and ends
with a deltaLink; the next round returns what changed, removed objects as `@removed`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration

from auth_service.http.deps import CONSISTENCY_HEADER
from devtools.client import CreatedTenant, user_body
from devtools.process import FrontEndProcess
from scale_units.local.tls import trust
from scale_units.state import ClusterState
from tests.auth_service.graph_sdk import graph_client
from tests.auth_service.test_http import graph_error

PASSWORD = "Delta-passw0rd!"


OPS = {"displayName": "Ops", "mailNickname": "ops", "mailEnabled": False, "securityEnabled": True}


def _user(http: httpx.Client, url: str, headers: dict[str, str], tenant: CreatedTenant, name: str) -> str:
    """A new user; `headers` then carry its commit position, so later reads see it."""
    body = user_body(tenant.upn(name), name, PASSWORD)
    created = http.post(f"{url}/v1.0/users", headers=headers, json=body)
    assert created.status_code == 201, created.text
    headers[CONSISTENCY_HEADER] = created.headers[CONSISTENCY_HEADER]
    return str(created.json()["id"])


def _round(http: httpx.Client, link: str, headers: dict[str, str]) -> tuple[list[dict[str, Any]], str, int]:
    """Every item of a round, its deltaLink and how many pages it took."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = http.get(link, headers=headers)
        assert page.status_code == 200, page.text
        body, pages = page.json(), pages + 1
        items += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        link = body["@odata.nextLink"]


def test_users_delta_pages_then_returns_only_changes(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    ids = [_user(http, west.url, admin_headers, http_tenant, f"d{i}") for i in range(4)]
    paged = {**admin_headers, "Prefer": "odata.maxpagesize=2"}  # with the last write's position
    first, delta_link, pages = _round(http, f"{west.url}/v1.0/users/delta", paged)
    assert pages == 3  # four users and the administrator, two a page
    assert {u["id"] for u in first} >= set(ids)
    assert all("@removed" not in u for u in first)

    http.patch(f"{west.url}/v1.0/users/{ids[0]}", headers=admin_headers, json={"displayName": "renamed"})
    assert http.delete(f"{west.url}/v1.0/users/{ids[1]}", headers=admin_headers).status_code == 204
    added = _user(http, west.url, admin_headers, http_tenant, "late")
    paged[CONSISTENCY_HEADER] = admin_headers[CONSISTENCY_HEADER]
    second, delta_link, _ = _round(http, delta_link, paged)
    by_id = {u["id"]: u for u in second}
    assert by_id[ids[0]]["displayName"] == "renamed"
    assert by_id[ids[1]] == {"id": ids[1], "@removed": {"reason": "changed"}}, "in deleted items"
    assert by_id[added]["displayName"] == "late"
    assert set(by_id) <= {*ids, added}  # changes only (one may come twice, nothing else)

    purged = http.delete(f"{west.url}/v1.0/directory/deletedItems/{ids[1]}", headers=admin_headers)
    assert purged.status_code == 204, purged.text
    paged[CONSISTENCY_HEADER] = purged.headers[CONSISTENCY_HEADER]
    third, _, _ = _round(http, delta_link, paged)
    assert {u["id"]: u for u in third}[ids[1]] == {"id": ids[1], "@removed": {"reason": "deleted"}}


def test_groups_delta(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    _, delta_link, _ = _round(http, f"{west.url}/v1.0/groups/delta", admin_headers)
    made = http.post(f"{west.url}/v1.0/groups", headers=admin_headers, json=OPS)
    changes, _, _ = _round(
        http, delta_link, {**admin_headers, CONSISTENCY_HEADER: made.headers[CONSISTENCY_HEADER]}
    )
    assert [g["id"] for g in changes] == [made.json()["id"]]


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("$deltatoken=garbage!", {}),
        ("$skiptoken=AAAA", {}),
        ("$deltatoken=AAAAAAAAAAA&$skiptoken=AAAA", {}),
        ("$orderby=displayName", {}),
        ("", {"Prefer": "odata.maxpagesize=0"}),
    ],
)
def test_bad_delta_requests_are_400(
    http: httpx.Client,
    west: FrontEndProcess,
    admin_headers: dict[str, str],
    query: str,
    headers: dict[str, str],
) -> None:
    answer = http.get(f"{west.url}/v1.0/users/delta?{query}", headers={**admin_headers, **headers})
    assert graph_error(answer, 400) == "Request_BadRequest"


@pytest.fixture(autouse=True)
def _session_verify_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


async def test_a_delta_round_through_the_graph_sdk(
    cluster: ClusterState, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    async with graph_client(cluster, west.url, token) as client:
        first = await client.users.delta.get()
        assert first is not None
        assert first.value is not None
        assert [u.user_principal_name for u in first.value] == [http_tenant.admin]
        assert first.odata_delta_link is not None
        async with httpx.AsyncClient(
            base_url=f"{west.url}/v1.0", headers=admin_headers, verify=trust(cluster.directory)
        ) as http:
            made = [
                await http.post(
                    "/users",
                    json=user_body(http_tenant.upn(n), n, PASSWORD),
                )
                for n in ("brief", "kept")
            ]
            gone, kept = (m.json()["id"] for m in made)
            deleted = await http.delete(f"/users/{gone}")
            assert deleted.status_code == 204
        after_writes: RequestConfiguration[Any] = RequestConfiguration()  # read those writes
        after_writes.headers.add(CONSISTENCY_HEADER, deleted.headers[CONSISTENCY_HEADER])
        second = await client.users.delta.with_url(first.odata_delta_link).get(after_writes)
        assert second is not None
        assert second.value is not None
        by_id = {u.id: u for u in second.value}
        assert by_id[kept].display_name == "kept"
        assert by_id[gone].additional_data["@removed"] == {"reason": "changed"}  # in deleted items
        assert second.odata_delta_link is not None
