"""Real front-end processes on the session cluster: westeurope and northeurope (both EMEA)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from auth_service.process import FrontEndProcess, front_ends
from scale_units.state import ClusterState

PASSWORD = "Adm1n-passw0rd!"


@pytest.fixture(scope="session")
def frontends(cluster: ClusterState) -> Iterator[list[FrontEndProcess]]:
    with front_ends(cluster.directory, ["westeurope", "northeurope"]) as started:
        yield started


@pytest.fixture(scope="session")
def west(frontends: list[FrontEndProcess]) -> FrontEndProcess:
    return frontends[0]


@pytest.fixture(scope="session")
def north(frontends: list[FrontEndProcess]) -> FrontEndProcess:
    return frontends[1]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@dataclass
class HttpTenant:
    id: str
    domain: str
    admin: str
    scale_unit: str

    def upn(self, name: str) -> str:
        return f"{name}@{self.domain}"


def create_tenant(http: httpx.Client, url: str, operator_key: str, country: str = "FR") -> HttpTenant:
    name = f"t{uuid.uuid4().hex[:10]}"
    domain = f"{name}.example"
    response = http.post(
        f"{url}/operator/tenants",
        headers={"Authorization": f"Bearer {operator_key}"},
        json={
            "displayName": name,
            "country": country,
            "domains": [domain],
            "administrator": {
                "userPrincipalName": f"admin@{domain}",
                "displayName": "Admin",
                "password": PASSWORD,
            },
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return HttpTenant(body["id"], domain, f"admin@{domain}", body["scaleUnit"])


def sign_in(
    http: httpx.Client, url: str, tenant: str, username: str, password: str = PASSWORD
) -> dict[str, Any]:
    response = http.post(
        f"{url}/{tenant}/oauth2/v2.0/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def http_tenant(http: httpx.Client, west: FrontEndProcess, cluster: ClusterState) -> HttpTenant:
    return create_tenant(http, west.url, cluster.credentials.operator)


@pytest.fixture
def admin_headers(http: httpx.Client, west: FrontEndProcess, http_tenant: HttpTenant) -> dict[str, str]:
    token = sign_in(http, west.url, http_tenant.domain, http_tenant.admin)
    return {"Authorization": f"Bearer {token['access_token']}"}
