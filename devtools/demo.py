"""The README's main job: a tenant's life through two front ends in two regions."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any

import httpx

from auth_service.graph.odata import VERSION
from auth_service.http.deps import CONSISTENCY_HEADER, REGION_HEADER, SERVER_HEADER
from devtools.client import connect, password_grant, tenant_request, user_body
from devtools.process import front_ends
from scale_units.progress import Progress
from scale_units.state import ClusterState

PASSWORD = "demo-Passw0rd!"
SIGN_IN_WAIT_S = 5.0  # the writer commits every 100 ms; a failing primary gets a few seconds


def _show(step: str, response: httpx.Response, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    body: dict[str, Any] = response.json() if response.content else {}
    where = ", ".join(
        f"{h}={response.headers[h]}" for h in (REGION_HEADER, SERVER_HEADER) if h in response.headers
    )
    shown = {k: body[k] for k in keys if k in body}
    if not keys and isinstance(body.get("value"), list):  # a collection: how many it holds
        shown = {"entries": len(body["value"])}
    print(f"{step:<48} {response.status_code}  {json.dumps(shown)}  {where}")
    response.raise_for_status()
    return body


def _listed(http: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    """The collection once it lists something, or as it is after `SIGN_IN_WAIT_S`: a sign-in's
    log row is committed by the front end's background writer, moments after the grant answers."""
    deadline = time.monotonic() + SIGN_IN_WAIT_S
    while True:
        response = http.get(url, headers=headers)
        if response.status_code != 200 or response.json()["value"] or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


@contextmanager
def _front_end_urls(directory: Path, urls: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Running front ends' URLs (westeurope, northeurope), else two started here."""
    if urls:
        yield urls[0], urls[1]
        return
    regions = ["westeurope", "northeurope"]
    with ExitStack() as stack:
        with closing(Progress()) as progress:
            progress(f"front ends: starting {' and '.join(regions)}, until each answers /readyz")
            west, north = stack.enter_context(front_ends(directory, regions))
        yield west.url, north.url


def run_demo(directory: Path, urls: Sequence[str] = ()) -> None:
    state = ClusterState.load(directory)
    name = f"contoso-{uuid.uuid4().hex[:6]}"
    domain = f"{name}.example"
    with _front_end_urls(directory, urls) as (west_url, north_url):
        print(f"front ends: westeurope at {west_url}, northeurope at {north_url}\n")
        with connect(directory) as http:
            tenant = _show(
                "operator creates tenant (country FR)",
                http.post(
                    f"{west_url}/operator/tenants",
                    headers={"Authorization": f"Bearer {state.credentials.operator}"},
                    json=tenant_request(name, "FR", domain, PASSWORD),
                ),
                ("id", "geo", "scaleUnit"),
            )
            token = _show(
                "admin signs in (password grant, by domain)",
                http.post(
                    f"{west_url}/{domain}/oauth2/v2.0/token",
                    data=password_grant(f"admin@{domain}", PASSWORD),
                ),
                ("token_type", "expires_in", "scope"),
            )
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            created = http.post(
                f"{west_url}{VERSION}/users",
                headers=auth,
                json=user_body(f"alice@{domain}", "Alice", "alice-Passw0rd!"),
            )
            user = _show("create alice via westeurope (primary)", created, ("id", "displayName"))
            consistency = {**auth, CONSISTENCY_HEADER: created.headers[CONSISTENCY_HEADER]}
            _show(
                "read alice via northeurope (its replica)",
                http.get(f"{north_url}{VERSION}/users/{user['id']}", headers=consistency),
                ("displayName",),
            )
            _show("GET /v1.0/me", http.get(f"{north_url}{VERSION}/me", headers=auth), ("userPrincipalName",))
            _show("sign-in logs (admin)", _listed(http, f"{west_url}{VERSION}/auditLogs/signIns", auth))
            wrong = http.post(
                f"{west_url}/{tenant['id']}/oauth2/v2.0/token",
                data=password_grant(f"alice@{domain}", "nope"),
            )
            print(f"{'wrong password':<48} {wrong.status_code}  {wrong.json()['error']}")
    print("\ndone: the cluster keeps running (`corestore cluster down` to stop it)")
