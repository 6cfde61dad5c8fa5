"""Real front-end processes on the session cluster: westeurope and northeurope (both EMEA)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools import client
from devtools.client import CreatedTenant
from devtools.process import FrontEndProcess, front_ends
from scale_units.state import ClusterState
from tests.auth_service.signin_flow import RegisteredApp, create_app, register_redirect_uris

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
def http(cluster: ClusterState) -> Iterator[httpx.Client]:
    with client.connect(cluster.directory) as http:
        yield http


def create_tenant(http: httpx.Client, url: str, operator_key: str, country: str = "FR") -> CreatedTenant:
    return client.create_tenant(http, url, operator_key, PASSWORD, country)


def sign_in(
    http: httpx.Client, url: str, tenant: str, username: str, password: str = PASSWORD
) -> dict[str, Any]:
    return client.sign_in(http, url, tenant, username, password)


@pytest.fixture
def http_tenant(http: httpx.Client, west: FrontEndProcess, cluster: ClusterState) -> CreatedTenant:
    return create_tenant(http, west.url, cluster.credentials.operator)


@pytest.fixture
def admin_headers(http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant) -> dict[str, str]:
    token = sign_in(http, west.url, http_tenant.domain, http_tenant.admin)
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture
def web_app(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> RegisteredApp:
    """An application of the test's tenant, made through Graph (with its service principal)."""
    return create_app(http, west.url, http_tenant, admin_headers)


@pytest.fixture
def registered(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str], web_app: RegisteredApp
) -> RegisteredApp:
    """`web_app` with redirect URIs registered on every platform."""
    return register_redirect_uris(http, west.url, web_app, admin_headers)
