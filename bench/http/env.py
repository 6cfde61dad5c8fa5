"""The HTTP workloads' world, made through the documented API: front ends, tenants, apps, tokens.

Front ends throttle per (tenant, application) and cap writes per tenant, so reads carry tokens
of several applications and writes spread over several tenants: the throttle is a policy, not
the hot path under measurement (a throttled answer still counts, as `http 429`).
Everything made here is tagged `bench-`.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from auth_service.http.deps import CONSISTENCY_HEADER
from bench.db.rows import Row
from bench.http.load import Writers, bearer
from bench.scrape import Scraped, scraping
from devtools.client import grant_app_roles, password_grant, tenant_request, user_body
from scale_units.state import ClusterState

PASSWORD = "bench-Passw0rd!"
VISIBLE_TIMEOUT_S = 10.0
APP_ROLES = ("User.Read.All",)  # the bench's applications read users


@dataclass(frozen=True)
class HttpEnv:
    write_url: str
    read_url: str
    write_pid: int
    read_pid: int
    row: Row
    app_tokens: tuple[str, ...]
    token_path: str
    client_forms: tuple[bytes, ...]
    password_form: bytes
    writers: Writers
    scraped: Scraped  # the front ends' own metrics over the run


@dataclass(frozen=True)
class BenchTenant:
    id: str
    domain: str
    scale_unit: str
    token: str


@dataclass(frozen=True)
class Plan:
    write_region: str
    read_region: str
    country: str
    applications: int
    writer_tenants: int


UNTHROTTLED = tuple(
    f"--{option}={10**6}"
    for option in ("requests-per-second", "request-burst", "writes-per-second", "write-burst")
)


@contextlib.contextmanager
def http_env(state: ClusterState, plan: Plan) -> Iterator[HttpEnv]:
    from devtools.process import front_ends

    # Plain HTTP until the bench's ASGI baseline runs under the same TLS. Throttling is a
    # policy, not the hot path: raised so that no workload measures 429s.
    regions = [plan.write_region, plan.read_region]
    with (
        front_ends(state.directory, regions, UNTHROTTLED, tls=False) as (writer, reader),
        scraping([writer.url, reader.url], state.credentials.operator) as scraped,
    ):
        with httpx.Client(base_url=writer.url, timeout=60) as http:
            env = _prepare(http, state, plan, reader.url, (writer.pid, reader.pid), scraped)
        yield env


def _prepare(
    http: httpx.Client,
    state: ClusterState,
    plan: Plan,
    read_url: str,
    pids: tuple[int, int],
    scraped: Scraped,
) -> HttpEnv:
    operator = state.credentials.operator
    main = new_tenant(http, operator, plan.country)
    apps = [_application(http, main, i) for i in range(plan.applications)]
    reader = _send(
        http,
        "POST",
        "/v1.0/users",
        headers=bearer(main.token),
        json=user_body(f"bench-reader@{main.domain}", "bench-reader"),
    ).json()
    row = Row(uuid.UUID(main.id), main.scale_unit, uuid.UUID(reader["id"]))
    _await_visible(http, row, main.token)
    writers = [new_tenant(http, operator, plan.country) for _ in range(plan.writer_tenants)]
    password = {"grant_type": "password", "username": f"admin@{main.domain}", "password": PASSWORD}
    return HttpEnv(
        write_url=str(http.base_url).rstrip("/"),
        read_url=read_url,
        write_pid=pids[0],
        read_pid=pids[1],
        row=row,
        app_tokens=tuple(token for token, _ in apps),
        token_path=f"/{main.id}/oauth2/v2.0/token",
        client_forms=tuple(form for _, form in apps),
        password_form=urlencode(password).encode(),
        writers=Writers(tuple(w.token for w in writers), tuple(w.domain for w in writers)),
        scraped=scraped,
    )


def new_tenant(http: httpx.Client, operator: str, country: str) -> BenchTenant:
    """A tenant with its administrator, and the administrator's access token."""
    name = f"bench-{uuid.uuid4().hex[:12]}"
    domain = f"{name}.example"
    created = _send(
        http,
        "POST",
        "/operator/tenants",
        headers=bearer(operator),
        json=tenant_request(name, country, domain, PASSWORD, f"{name}-admin"),
    ).json()
    token = _first_sign_in(http, f"/{created['id']}/oauth2/v2.0/token", f"admin@{domain}")
    return BenchTenant(created["id"], domain, created["scaleUnit"], token["access_token"])


def _first_sign_in(http: httpx.Client, path: str, username: str) -> dict[str, Any]:
    """Sign-ins read the nearest replica, which may not have replayed the new tenant yet: retry a while."""
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    while True:
        response = http.post(path, data=password_grant(username, PASSWORD))
        if response.status_code != 400 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if response.is_error:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
    tokens: dict[str, Any] = response.json()
    return tokens


def _application(http: httpx.Client, tenant: BenchTenant, index: int) -> tuple[str, bytes]:
    """An application with a client secret and the app roles the reads need: its access token and
    its client-credentials form."""
    auth = bearer(tenant.token)
    app = _send(
        http, "POST", "/v1.0/applications", headers=auth, json={"displayName": f"bench-app-{index}"}
    ).json()
    _send(http, "POST", "/v1.0/servicePrincipals", headers=auth, json={"appId": app["appId"]})
    added = _send(http, "POST", f"/v1.0/applications/{app['id']}/addPassword", headers=auth, json={})
    form = {
        "grant_type": "client_credentials",
        "client_id": app["appId"],
        "client_secret": added.json()["secretText"],
    }
    # What the reads need, granted as an administrator does (the grant's token then carries it),
    # reading what was just written: a replica may not have replayed it yet.
    after = {**auth, CONSISTENCY_HEADER: added.headers[CONSISTENCY_HEADER]}
    grant_app_roles(http, "", after, app["appId"], APP_ROLES)
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    while True:  # the grant reads a replica, which may not have the assignment yet
        token = _send(http, "POST", f"/{tenant.id}/oauth2/v2.0/token", data=form).json()["access_token"]
        if jwt.decode(token, options={"verify_signature": False}).get("roles") == list(APP_ROLES):
            return token, urlencode(form).encode()
        if time.monotonic() > deadline:
            raise RuntimeError(f"app roles not in the token after {VISIBLE_TIMEOUT_S:.0f}s")
        time.sleep(0.05)


def _await_visible(http: httpx.Client, row: Row, token: str) -> None:
    """Until the read replica has the row: reads without a commit position go there."""
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    while http.get(f"/v1.0/users/{row.user_id}", headers=bearer(token)).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"user {row.user_id} not readable after {VISIBLE_TIMEOUT_S:.0f}s")
        time.sleep(0.05)


def _send(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A setup request; waits out throttling, and fails with the server's answer."""
    while True:
        response = http.request(method, path, **kwargs)
        if response.status_code != 429:
            break
        time.sleep(float(response.headers.get("retry-after", "1")))
    if response.is_error:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response
