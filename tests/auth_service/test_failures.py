"""Failures under load, through real front ends: a replica dies, a front end dies.

Runs on a cluster of its own (EMEA has two replicas), since it kills servers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from devtools.client import CreatedTenant, connect, user_body
from devtools.process import FrontEndProcess, front_ends
from scale_units.local import launcher
from scale_units.state import ClusterState
from tests.auth_service.conftest import create_tenant, sign_in
from tests.cluster import temp_cluster

TOPOLOGY = Path(__file__).parents[1] / "topologies" / "two_replicas.toml"
SERVER = "x-corestore-server"


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[ClusterState]:
    with temp_cluster(TOPOLOGY) as state:
        yield state


@pytest.fixture(scope="module")
def own_front_ends(own_cluster: ClusterState) -> Iterator[list[FrontEndProcess]]:
    unthrottled = ("--requests-per-second", "100000", "--request-burst", "100000")
    with front_ends(own_cluster.directory, ["westeurope", "northeurope"], unthrottled) as started:
        yield started


@dataclass
class Load:
    """A bounded read loop in a thread: (seconds since start, status, answering server)."""

    url: str
    headers: dict[str, str]
    seconds: float
    directory: Path
    results: list[tuple[float, int, str]] = field(default_factory=list)

    def run(self) -> None:
        start = time.monotonic()
        with connect(self.directory, timeout=5) as http:
            while (now := time.monotonic() - start) < self.seconds:
                try:
                    response = http.get(self.url, headers=self.headers)
                    self.results.append((now, response.status_code, response.headers.get(SERVER, "")))
                except httpx.HTTPError:
                    self.results.append((now, 0, ""))


def _setup(own_cluster: ClusterState, front: FrontEndProcess) -> tuple[CreatedTenant, dict[str, str], str]:
    with connect(own_cluster.directory, timeout=30) as http:
        tenant = create_tenant(http, front.url, own_cluster.credentials.operator)
        headers = {
            "Authorization": f"Bearer {sign_in(http, front.url, tenant.domain, tenant.admin)['access_token']}"
        }
        user = http.post(
            f"{front.url}/v1.0/users",
            headers=headers,
            json=user_body(tenant.upn("load"), "Load"),
        ).json()
    return tenant, headers, f"{front.url}/v1.0/users/{user['id']}"


def test_replica_down_under_load_fails_over_within_the_geo_and_rejoins(
    own_cluster: ClusterState, own_front_ends: list[FrontEndProcess]
) -> None:
    west = own_front_ends[0]
    _, headers, url = _setup(own_cluster, west)
    unit = own_cluster.discover().scale_units["emea-1"]
    load = Load(url, headers, seconds=8.0, directory=own_cluster.directory)
    thread = threading.Thread(target=load.run)
    thread.start()
    time.sleep(2.0)
    killed_at = 2.0
    launcher.process(own_cluster, "emea-1-francecentral").kill()
    time.sleep(3.0)
    launcher.up(TOPOLOGY, own_cluster.directory)
    thread.join()

    before = [r for r in load.results if r[0] < killed_at]
    failed = [r for r in load.results if r[1] != 200]
    after = [r for r in load.results if killed_at + 1.0 < r[0] < killed_at + 3.0]
    assert {r[2] for r in before} == {"emea-1-francecentral"}, "nearest replica to westeurope first"
    assert {r[2] for r in load.results if r[1] == 200} <= {s.name for s in unit.servers}, (
        "never outside the geo"
    )
    assert after, "reads continued while the replica was down"
    assert {r[2] for r in after} == {"emea-1-northeurope"}
    window = (max(r[0] for r in failed) - killed_at) if failed else 0.0
    summary = f"{len(load.results)} reads, {len(failed)} failed, failures within {window:.2f}s of the kill"
    print(f"\nreplica down: {summary}")
    assert window < 2.0
    assert len(failed) <= 5

    deadline = time.monotonic() + 20
    with connect(own_cluster.directory, timeout=5) as http:
        while time.monotonic() < deadline:
            if http.get(url, headers=headers).headers.get(SERVER) == "emea-1-francecentral":
                break
            time.sleep(0.2)
        else:
            pytest.fail("the restarted replica never rejoined routing")


def test_front_end_down_loses_nothing(
    own_cluster: ClusterState, own_front_ends: list[FrontEndProcess]
) -> None:
    west, north = own_front_ends
    tenant, headers, url = _setup(own_cluster, north)
    spare = FrontEndProcess("northeurope", own_cluster.directory, north.port, north.options)
    north.kill()
    with connect(own_cluster.directory, timeout=10) as http:
        assert http.get(url.replace(north.url, west.url), headers=headers).status_code == 200, (
            "token works elsewhere"
        )
        created = http.post(
            f"{west.url}/v1.0/users",
            headers=headers,
            json=user_body(tenant.upn("after"), "After"),
        )
        assert created.status_code == 201
        spare.start()
        try:
            assert http.get(url, headers=headers).status_code == 200, "a new instance serves the same clients"
        finally:
            spare.stop()
    own_front_ends[1] = spare


def test_primary_down_failover_and_writes_resume_through_the_front_end(
    own_cluster: ClusterState, own_front_ends: list[FrontEndProcess]
) -> None:
    west = own_front_ends[0]
    tenant, headers, _ = _setup(own_cluster, west)
    old = own_cluster.discover().scale_units["emea-1"].primary.name
    launcher.process(own_cluster, old).kill()
    killed = time.monotonic()  # Patroni promotes a replica by itself
    attempts, created = 0, None
    with connect(own_cluster.directory, timeout=10) as http:
        while time.monotonic() - killed < 40:
            attempts += 1
            response = http.post(
                f"{west.url}/v1.0/users",
                headers=headers,
                json=user_body(tenant.upn(f"w{attempts}"), "W"),
            )
            if response.status_code == 201:
                created = response
                break
            time.sleep(0.2)
    assert created is not None, "writes never resumed"
    new = own_cluster.discover().scale_units["emea-1"].primary.name
    assert new != old
    assert created.headers[SERVER] == new
    took = time.monotonic() - killed
    print(
        f"\nprimary down: writes resumed via the front end {took:.2f}s after the kill, {attempts - 1} refused"
    )
    launcher.up(TOPOLOGY, own_cluster.directory)  # the old primary rejoins as a replica
    assert launcher.process(own_cluster, old).pid() is not None
