"""Sovereign clouds share nothing: a public-cloud token is refused by a usgov front end.

Also: a front end answers 429 with Retry-After once a client exceeds its bucket.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from devtools.client import connect
from devtools.process import FrontEndProcess, front_ends
from scale_units.local import launcher
from scale_units.model.loader import default_topology_path
from scale_units.ports import free_port
from scale_units.state import ClusterState
from tests.auth_service.conftest import create_tenant, sign_in
from tests.cluster import temp_cluster


@pytest.fixture(scope="module")
def sovereign() -> Iterator[ClusterState]:
    with temp_cluster(default_topology_path("sovereign")) as state:
        yield state


def test_a_tenant_of_usgov_lives_in_usgov_and_its_tokens_stay_there(sovereign: ClusterState) -> None:
    with (
        front_ends(sovereign.directory, ["westeurope", "usgovvirginia"]) as (public, usgov),
        connect(sovereign.directory) as http,
    ):
        key = sovereign.credentials.operator
        ours = create_tenant(http, usgov.url, key, country="US")
        theirs = create_tenant(http, public.url, key, country="FR")
        assert ours.scale_unit == "usgov-1"
        assert theirs.scale_unit == "emea-1"
        public_token = sign_in(http, public.url, theirs.domain, theirs.admin)["access_token"]
        refused = http.get(f"{usgov.url}/v1.0/users", headers={"Authorization": f"Bearer {public_token}"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
        usgov_token = sign_in(http, usgov.url, ours.domain, ours.admin)["access_token"]
        assert (
            http.get(f"{usgov.url}/v1.0/me", headers={"Authorization": f"Bearer {usgov_token}"}).status_code
            == 200
        )
        assert (
            http.get(f"{public.url}/v1.0/me", headers={"Authorization": f"Bearer {usgov_token}"}).status_code
            == 401
        )
        unknown = http.post(
            f"{usgov.url}/{theirs.domain}/oauth2/v2.0/token",
            data={"grant_type": "password", "username": theirs.admin, "password": "x"},
        )
        assert unknown.status_code == 400, "a public tenant does not exist in usgov"
        keys = {k["kid"] for k in http.get(f"{usgov.url}/{ours.id}/discovery/v2.0/keys").json()["keys"]}
        assert not keys & {
            k["kid"] for k in http.get(f"{public.url}/{theirs.id}/discovery/v2.0/keys").json()["keys"]
        }


def test_throttled_clients_get_429_with_retry_after(sovereign: ClusterState) -> None:
    limits = ("--requests-per-second", "1", "--request-burst", "3")
    front = FrontEndProcess("westeurope", sovereign.directory, free_port(), limits)
    front.start()
    try:
        with connect(sovereign.directory) as http:
            tenant = create_tenant(http, front.url, sovereign.credentials.operator)
            token = sign_in(http, front.url, tenant.domain, tenant.admin)["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            statuses = [http.get(f"{front.url}/v1.0/users", headers=headers) for _ in range(5)]
    finally:
        front.stop()
    assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
    throttled = statuses[-1]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert int(throttled.headers["Retry-After"]) >= 1


def test_each_cloud_has_an_etcd_of_its_own_holding_only_its_scale_units(sovereign: ClusterState) -> None:
    """Patroni's leader locks: a sovereign cloud's consensus store shares nothing with another."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    topology = sovereign.planned_topology
    assert set(sovereign.etcd) == {c.value for c in topology.clouds()}
    for cloud in topology.clouds():
        store = launcher.etcd(sovereign, cloud.value)
        body = {"key": b64("/corestore/"), "range_end": b64("/corestore0"), "keys_only": True}
        kvs = httpx.post(f"{store.url}/v3/kv/range", json=body, timeout=5).json()["kvs"]
        scopes = {base64.b64decode(kv["key"]).decode().split("/")[2] for kv in kvs}
        assert scopes == {u.id for u in topology.units_in_cloud(cloud)}
