"""Failures under load, through real front ends: a replica dies, a front end dies.

Runs on a cluster of its own (EMEA has two replicas), since it kills servers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
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
from tests.primary import on_primary

TOPOLOGY = Path(__file__).parents[1] / "topologies" / "two_replicas.toml"
SERVER = "x-corestore-server"
# A bound on waiting for an event (a kill noticed, reads moved): generous, never the assertion.
EVENT_BOUND_S = 60.0


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
    """A read loop in a thread until stopped (or `seconds`, a bound): (seconds since start, status,
    answering server)."""

    url: str
    headers: dict[str, str]
    seconds: float
    directory: Path
    results: list[tuple[float, int, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with connect(self.directory, timeout=5) as http:
            while (now := time.monotonic() - self.started) < self.seconds and not self.stop.is_set():
                try:
                    response = http.get(self.url, headers=self.headers)
                    self.results.append((now, response.status_code, response.headers.get(SERVER, "")))
                except httpx.HTTPError:
                    self.results.append((now, 0, ""))

    def wait_for(self, enough: Callable[[list[tuple[float, int, str]]], bool], what: str) -> None:
        """Until `enough` of the results so far (the event itself, not a guess at its time), or fail."""
        deadline = time.monotonic() + EVENT_BOUND_S
        while not enough(list(self.results)):
            if time.monotonic() > deadline:
                self.stop.set()
                pytest.fail(f"not within {EVENT_BOUND_S:.0f}s: {what}")
            time.sleep(0.05)


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
    """Reads move to the other replica of the geo and never leave it; once they have moved none
    fails, and each failure before that is a 503 (Retry-After), not an error; the replica,
    restarted, is routed to again. Timings are printed, not asserted."""
    west = own_front_ends[0]
    _, headers, url = _setup(own_cluster, west)
    unit = own_cluster.discover().scale_units["emea-1"]
    load = Load(url, headers, seconds=EVENT_BOUND_S * 3, directory=own_cluster.directory)
    thread = threading.Thread(target=load.run)
    thread.start()
    try:
        load.wait_for(lambda r: sum(x[1] == 200 for x in r) >= 20, "reads answered before the kill")
        kill_sent = time.monotonic() - load.started  # reads sent from here on may meet it dying
        launcher.process(own_cluster, "emea-1-francecentral").kill()
        killed_at = time.monotonic() - load.started
        load.wait_for(
            lambda r: sum(x[0] > killed_at and x[2] == "emea-1-northeurope" for x in r) >= 20,
            "reads answered by the other replica after the kill",
        )
    finally:
        load.stop.set()
        thread.join()
    launcher.up(TOPOLOGY, own_cluster.directory)

    before = [r for r in load.results if r[0] < kill_sent]
    failed = [r for r in load.results if r[1] != 200]
    moved = min(r[0] for r in load.results if r[0] > killed_at and r[2] == "emea-1-northeurope")
    assert {r[2] for r in before} == {"emea-1-francecentral"}, "nearest replica to westeurope first"
    assert {r[2] for r in load.results if r[1] == 200} <= {s.name for s in unit.servers}, (
        "never outside the geo"
    )
    assert [r for r in failed if r[0] > moved] == [], "no read failed once reads had moved"
    assert {r[1] for r in failed} <= {503}, "a read that failed meanwhile was refused, not broken"
    print(
        f"\nreplica down: {len(load.results)} reads, {len(failed)} failed, "
        f"moved {moved - killed_at:.2f}s after the kill"
    )

    deadline = time.monotonic() + EVENT_BOUND_S
    with connect(own_cluster.directory, timeout=5) as http:
        while time.monotonic() < deadline:
            if http.get(url, headers=headers).headers.get(SERVER) == "emea-1-francecentral":
                break
            time.sleep(0.2)
        else:
            pytest.fail("the restarted replica never rejoined routing")


def test_a_killed_front_end_loses_no_acknowledged_write(
    own_cluster: ClusterState, own_front_ends: list[FrontEndProcess]
) -> None:
    """SIGKILL may lose only what the README says it may: the sign-in log rows of the front end's
    last flush interval. Every write it acknowledged is on the primary afterwards; its token works on
    another instance, and a new instance on the same address serves the same clients."""
    west, north = own_front_ends
    tenant, headers, url = _setup(own_cluster, north)
    acknowledged = [url.rsplit("/", 1)[1]]
    with connect(own_cluster.directory, timeout=10) as http:
        for n in range(5):
            made = http.post(
                f"{north.url}/v1.0/users", headers=headers, json=user_body(tenant.upn(f"k{n}"), "K")
            )
            assert made.status_code == 201
            acknowledged.append(made.json()["id"])
    spare = FrontEndProcess("northeurope", own_cluster.directory, north.port, north.options)
    north.kill()
    query = "SELECT array_agg(id::text) FROM users WHERE tenant_id = $1::uuid"
    stored = asyncio.run(on_primary(own_cluster, tenant.scale_unit, query, tenant.id))
    assert set(acknowledged) <= set(stored), "every write the killed front end acknowledged"
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
