"""The hot paths answer exactly as FastAPI does: the same requests through `HotPaths` and
through FastAPI alone, in one process over ASGI, give the same status, headers and body
(the answer's date and request ids aside)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio

from auth_service.app import around, create_app
from auth_service.bootstrap import bootstrap
from auth_service.frontend import FrontEndConfig
from auth_service.http.hot import HotPaths
from auth_service.http.throttle import Limits, Throttle
from devtools.client import password_grant, tenant_request, user_body
from scale_units.state import ClusterState

PASSWORD = "Hot-path-passw0rd!"
BURST = 60  # requests of (application, tenant) before 429: the clock stands still, nothing refills
VARYING = re.compile(rb'"(date|request-id)":"[^"]*"')
UNKNOWN = "00000000-0000-4000-8000-000000000000"
CONSISTENCY = "x-corestore-consistency"


@dataclass(frozen=True)
class Paths:
    hot: httpx.AsyncClient
    cold: httpx.AsyncClient
    tenant: str
    admin_id: str
    bearer: dict[str, str]


def _client(app: httpx.ASGITransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=app, base_url="http://front")


@pytest_asyncio.fixture
async def paths(cluster: ClusterState, random_name: str) -> AsyncIterator[Paths]:
    config = FrontEndConfig("westeurope", cluster.directory, pool_size=2)
    frontend = bootstrap(config, throttle=Throttle(Limits(request_burst=BURST), clock=lambda: 0.0))
    entry = create_app(frontend)
    api = _hot_paths(entry).api
    cold = around(frontend, api)
    async with (
        api.router.lifespan_context(api),
        _client(httpx.ASGITransport(entry)) as hot,
        _client(httpx.ASGITransport(cold)) as plain,
    ):
        operator = {"Authorization": f"Bearer {cluster.credentials.operator}"}
        name = random_name
        made = await plain.post(
            "/operator/tenants",
            headers=operator,
            json=tenant_request(name, "FR", f"{name}.example", PASSWORD),
        )
        assert made.status_code == 201, made.text
        grant = password_grant(f"admin@{name}.example", PASSWORD)
        tokens = await hot.post(f"/{name}.example/oauth2/v2.0/token", data=grant)
        assert tokens.status_code == 200, tokens.text
        bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        me = await plain.get("/v1.0/me", headers=bearer)
        for n in range(2):
            body = user_body(f"u{n}@{name}.example", f"User {n}")
            created = await plain.post("/v1.0/users", headers=bearer, json=body)
            assert created.status_code == 201
        # Every later read waits for these writes: a replica behind them would answer one
        # path before they arrive and the other after.
        bearer[CONSISTENCY] = created.headers[CONSISTENCY]
        yield Paths(hot, plain, f"{name}.example", me.json()["id"], bearer)


def _hot_paths(entry: object) -> HotPaths:
    """`create_app`'s hot entry, found through the layers around it."""
    inner = entry
    while not isinstance(inner, HotPaths):
        inner = inner.app  # type: ignore[attr-defined]
    return inner


async def _same(paths: Paths, method: str, url: str, **kwargs: object) -> httpx.Response:
    """Both answers, compared; the hot one is returned."""
    hot = await paths.hot.request(method, url, **kwargs)  # type: ignore[arg-type]
    cold = await paths.cold.request(method, url, **kwargs)  # type: ignore[arg-type]
    assert _shown(hot) == _shown(cold), f"{method} {url}"
    return hot


def _shown(answer: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in answer.headers.multi_items() if k not in ("date", "request-id")]
    return answer.status_code, headers, VARYING.sub(b'"\\1":""', answer.content)


async def test_reads_answer_alike_on_both_paths(paths: Paths) -> None:
    auth = paths.bearer
    one = await _same(paths, "GET", f"/v1.0/users/{paths.admin_id}", headers=auth)
    assert one.status_code == 200
    assert one.headers["etag"]
    assert "@odata.context" in one.json()
    await _same(paths, "GET", f"/v1.0/users/{paths.admin_id}?$select=id,displayName", headers=auth)
    page = await _same(paths, "GET", "/v1.0/users?$top=1&$orderby=displayName", headers=auth)
    assert "@odata.nextLink" in page.json()
    await _same(paths, "GET", "/v1.0/users?$filter=startswith(displayName,'User')", headers=auth)
    await _same(paths, "GET", "/v1.0/me", headers=auth)
    await _same(paths, "GET", "/v1.0/me?$select=userPrincipalName", headers=auth)
    await _same(paths, "GET", "/v1.0/groups", headers=auth)


async def test_errors_answer_alike_on_both_paths(paths: Paths) -> None:
    auth = paths.bearer
    assert (await _same(paths, "GET", f"/v1.0/users/{UNKNOWN}", headers=auth)).status_code == 404
    assert (await _same(paths, "GET", "/v1.0/users/nothing-like-an-id", headers=auth)).status_code == 404
    assert (await _same(paths, "GET", "/v1.0/users?$top=0", headers=auth)).status_code == 400
    assert (await _same(paths, "GET", "/v1.0/users?$filter=nonsense(", headers=auth)).status_code == 400
    assert (await _same(paths, "GET", "/v1.0/users?$expand=manager", headers=auth)).status_code == 400
    assert (await _same(paths, "GET", "/v1.0/me")).status_code == 401
    assert (
        await _same(paths, "GET", "/v1.0/me", headers={"Authorization": "Bearer x.y.z"})
    ).status_code == 401
    odd = {**auth, "x-corestore-consistency": "not-a-token"}
    assert (await _same(paths, "GET", "/v1.0/me", headers=odd)).status_code == 400
    assert (await _same(paths, "GET", "/v1.0/me", headers={"client-request-id": "a b"})).status_code == 400
    assert (await _same(paths, "GET", "/v1.0/users/", headers=auth)).status_code in (307, 404)
    assert (await _same(paths, "PUT", f"/v1.0/users/{paths.admin_id}", headers=auth)).status_code == 405
    token = f"/{paths.tenant}/oauth2/v2.0/token"
    assert (await _same(paths, "POST", token, data={"username": "x"})).status_code == 400
    assert (await _same(paths, "POST", token, json={"grant_type": "password"})).status_code == 400
    wrong = password_grant(f"nobody@{paths.tenant}", PASSWORD)
    assert (await _same(paths, "POST", token, data=wrong)).status_code in (400, 401)
    assert (await _same(paths, "POST", "/unknown.example/oauth2/v2.0/token", data=wrong)).status_code == 400


async def test_routes_an_earlier_route_claims_stay_with_it(paths: Paths) -> None:
    delta = await _same(paths, "GET", "/v1.0/users/delta", headers=paths.bearer)
    assert delta.status_code == 200
    assert "@odata.deltaLink" in delta.text


async def test_throttling_answers_alike_on_both_paths(paths: Paths) -> None:
    """The bucket does not refill (the clock stands still): once it is empty both paths say 429,
    with the same Retry-After."""
    for _ in range(BURST):
        hot = await paths.hot.get("/v1.0/me", headers=paths.bearer)
        if hot.status_code == 429:
            break
    throttled = await _same(paths, "GET", "/v1.0/me", headers=paths.bearer)
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"]
