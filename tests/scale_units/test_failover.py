"""High availability through real front ends: Patroni fails over by itself, nothing acknowledged is lost.

The session's spare cluster of the default topology (three servers per scale unit, one etcd) and a
westeurope front end, shared by the tests of this module; each test finds the roles as they
are now and sets up what it needs, so any one runs alone or in any order: a replica dies,
the primary dies and rejoins, a planned switchover, etcd dies, no quorum member is left.
Waits are on the event (writes resumed, a leader named) with a generous bound; how long
it took is printed, never asserted.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from corestore.errors import CommitUncertain
from corestore.roles import dsn
from corestore.store import CoreStore
from devtools.cli import app
from devtools.client import CreatedTenant, connect, user_body
from devtools.process import FrontEndProcess, front_ends
from scale_units.leaders import leader, member_views_now
from scale_units.local import launcher
from scale_units.local.patroni import LOOP_WAIT_S, TTL_S
from scale_units.local.status import cluster_status
from scale_units.model.loader import default_topology_path
from scale_units.state import ClusterState
from tests.auth_service.conftest import create_tenant, sign_in

SERVER = "x-corestore-server"
PASSWORD = "Adm1n-passw0rd!"  # what tests.auth_service.conftest.create_tenant gives the administrator
UNIT = "emea-1"
# A bound on waiting for an event (a kill noticed, writes resumed): generous, never the assertion.
EVENT_BOUND_S = 120.0


@pytest.fixture(scope="module")
def ha_cluster(spare_cluster: ClusterState) -> ClusterState:
    """The session's spare cluster (the quick bench may have run there first): we kill its servers."""
    return spare_cluster


@pytest.fixture(scope="module")
def front(ha_cluster: ClusterState) -> Iterator[FrontEndProcess]:
    unthrottled = (
        *("--requests-per-second", "100000", "--request-burst", "100000"),
        *("--writes-per-second", "100000", "--write-burst", "100000"),
    )
    with front_ends(ha_cluster.directory, ["westeurope"], unthrottled) as started:
        yield started[0]


@pytest.fixture(scope="module")
def tenant(ha_cluster: ClusterState, front: FrontEndProcess) -> CreatedTenant:
    with connect(ha_cluster.directory) as http:
        return create_tenant(http, front.url, ha_cluster.credentials.operator)


def _headers(front: FrontEndProcess, tenant: CreatedTenant) -> dict[str, str]:
    with connect(front.directory) as http:
        token = sign_in(http, front.url, tenant.domain, tenant.admin)["access_token"]
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Traffic:
    """A bounded loop in a thread: create a user, sign in, read the user back; every answer kept."""

    front: FrontEndProcess
    tenant: CreatedTenant
    headers: dict[str, str]
    seconds: float
    sign_ins: bool = True
    acked: list[str] = field(default_factory=list)  # users whose creation answered 201
    results: list[tuple[float, str, int, str]] = field(default_factory=list)  # (t, kind, status, server)
    started: float = field(default_factory=time.monotonic)
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # user names of this run only
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        with connect(self.front.directory, timeout=10) as http:
            while time.monotonic() - self.started < self.seconds and not self._stop.is_set():
                n += 1
                upn = self.tenant.upn(f"{self.prefix}-{n}")
                created = self._call(
                    http,
                    "write",
                    "POST",
                    "/v1.0/users",
                    json=user_body(upn, "U"),
                )
                if created is not None and created.status_code == 201:
                    self.acked.append(upn)
                    self._call(http, "read", "GET", f"/v1.0/users/{upn}")
                if self.sign_ins:
                    token = "/".join(["", self.tenant.domain, "oauth2", "v2.0", "token"])
                    grant = {"grant_type": "password", "username": self.tenant.admin, "password": PASSWORD}
                    self._call(http, "sign-in", "POST", token, data=grant)

    def _call(
        self, http: httpx.Client, kind: str, method: str, path: str, **kwargs: object
    ) -> httpx.Response | None:
        """One request, recorded at the time it was sent; a refusal pauses the loop a little."""
        headers = {} if kind == "sign-in" else self.headers
        sent = time.monotonic() - self.started
        try:
            response = http.request(method, self.front.url + path, headers=headers, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError:
            self.results.append((sent, kind, 0, ""))
            time.sleep(0.05)
            return None
        self.results.append((sent, kind, response.status_code, response.headers.get(SERVER, "")))
        if response.status_code >= 500:
            time.sleep(0.05)
        return response

    def stop(self) -> None:
        self._stop.set()


def _wait_for(
    traffic: Traffic, enough: Callable[[list[tuple[float, str, int, str]]], bool], what: str
) -> None:
    """Until `enough` of the traffic's results so far, or fail after EVENT_BOUND_S."""
    deadline = time.monotonic() + EVENT_BOUND_S
    while not enough(list(traffic.results)):
        if time.monotonic() > deadline:
            traffic.stop()
            pytest.fail(f"not within {EVENT_BOUND_S:.0f}s: {what}")
        time.sleep(0.1)


Results = list[tuple[float, str, int, str]]


def _kill_under(
    traffic: Traffic, kill: Callable[[], None], enough: Callable[[Results, float], bool], what: str
) -> float:
    """Traffic until a few writes succeed, then `kill`, then traffic until `enough` of the results
    after the kill: the kill's time on the traffic's clock."""
    thread = _run(traffic)
    try:
        _wait_for(traffic, lambda r: sum(x[2] == 201 for x in r) >= 3, "writes before the kill")
        kill()
        killed_at = time.monotonic() - traffic.started
        _wait_for(traffic, lambda r: enough(r, killed_at), what)
    finally:
        traffic.stop()
        thread.join()
    return killed_at


def _run(traffic: Traffic) -> threading.Thread:
    thread = threading.Thread(target=traffic.run)
    thread.start()
    return thread


def _leader(state: ClusterState) -> str:
    unit = state.planned_topology.scale_units[UNIT]
    found = leader(unit, member_views_now(state.apis))
    assert found is not None, f"{UNIT} has no leader"
    return found.name


async def _users_on(state: ClusterState, server: str, tenant: CreatedTenant) -> set[str]:
    conn = await asyncpg.connect(dsn(state, server, "superuser"))
    try:
        rows = await conn.fetch("SELECT user_principal_name FROM users WHERE tenant_id = $1::uuid", tenant.id)
    finally:
        await conn.close()
    return {r["user_principal_name"] for r in rows}


def test_replica_killed_writes_and_sign_ins_carry_on_within_the_geo(
    ha_cluster: ClusterState, front: FrontEndProcess, tenant: CreatedTenant
) -> None:
    unit = ha_cluster.planned_topology.scale_units[UNIT]
    victim = next(s.name for s in unit.servers if s.name != _leader(ha_cluster))
    traffic = Traffic(front, tenant, _headers(front, tenant), seconds=EVENT_BOUND_S * 3)
    killed_at = _kill_under(
        traffic,
        lambda: launcher.process(ha_cluster, victim).kill(),
        lambda r, t: all(sum(x[0] > t and x[1] == k for x in r) >= 10 for k in ("write", "sign-in")),
        "writes and sign-ins after the kill",
    )

    after = [r for r in traffic.results if r[0] > killed_at]
    writes = [r for r in after if r[1] == "write"]
    sign_ins = [r for r in after if r[1] == "sign-in"]
    print(
        f"\nreplica down: {len(writes)} writes and {len(sign_ins)} sign-ins after the kill, statuses "
        f"{sorted({r[2] for r in after})}"
    )
    assert {r[2] for r in writes} == {201}, "every write after the kill succeeded"
    assert {r[2] for r in sign_ins} == {200}, "every sign-in after the kill succeeded"
    answered = {r[3] for r in traffic.results if r[1] == "read" and r[2] == 200}
    assert answered <= {s.name for s in unit.servers}, "no read left the geo's scale unit"
    launcher.up(default_topology_path(), ha_cluster.directory)  # restarts it; it streams again


def test_primary_killed_fails_over_by_itself_keeps_every_acknowledged_write_and_rejoins(
    ha_cluster: ClusterState, front: FrontEndProcess, tenant: CreatedTenant
) -> None:
    """Writes resume on a new primary (waited for, up to EVENT_BOUND_S; the time is printed), no
    acknowledged write is lost, and the old primary, restarted, is a quorum replica again."""
    old = _leader(ha_cluster)
    traffic = Traffic(front, tenant, _headers(front, tenant), seconds=EVENT_BOUND_S * 3, sign_ins=False)
    killed_at = _kill_under(
        traffic,
        lambda: launcher.process(ha_cluster, old).kill(),
        lambda r, t: sum(x[0] > t and x[1] == "write" and x[2] == 201 for x in r) >= 5,
        "writes resumed after the kill",
    )

    resumed = [r for r in traffic.results if r[0] > killed_at and r[1] == "write" and r[2] == 201]
    new = _leader(ha_cluster)
    took = resumed[0][0] - killed_at
    refused = len([r for r in traffic.results if r[0] > killed_at and r[1] == "write" and r[2] != 201])
    present = asyncio.run(_users_on(ha_cluster, new, tenant))
    lost = [u for u in traffic.acked if u not in present]
    print(
        f"\nprimary down: {old} -> {new}; writes resumed {took:.1f}s after the kill "
        f"(ttl {TTL_S}s + loop_wait {LOOP_WAIT_S}s), {refused} refused meanwhile; "
        f"{len(traffic.acked)} acknowledged, {len(lost)} lost"
    )
    assert new != old
    regions = {s.name: s.region for s in ha_cluster.planned_topology.servers()}
    assert regions[new] == regions[old], "an in-sync replica of the primary's own region took over"
    assert {r[3] for r in resumed} == {new}
    assert not lost, f"acknowledged writes lost: {lost[:5]}"

    launcher.up(default_topology_path(), ha_cluster.directory)  # Patroni rewinds it onto the new timeline
    statuses = {s.name: s for s in asyncio.run(cluster_status(ha_cluster))}
    assert statuses[old].alive
    assert statuses[old].role == "replica"
    assert statuses[old].sync == "quorum"
    assert statuses[_leader(ha_cluster)].sync == "quorum"


def test_planned_switchover_moves_the_primary_and_writes_go_on(
    ha_cluster: ClusterState, front: FrontEndProcess, tenant: CreatedTenant
) -> None:
    """To the planned home if another server leads now, else to another replica of the quorum."""
    unit = ha_cluster.planned_topology.scale_units[UNIT]
    current = _leader(ha_cluster)
    home = unit.primary.name
    target = home if current != home else next(s.name for s in unit.servers if s.name != current)
    result = CliRunner().invoke(app, ["failover", UNIT, "--to", target, "--dir", str(ha_cluster.directory)])
    assert result.exit_code == 0, result.output
    assert f"primary is now {target}" in result.output
    assert _leader(ha_cluster) == target
    headers = _headers(front, tenant)
    deadline = time.monotonic() + EVENT_BOUND_S
    with connect(ha_cluster.directory, timeout=10) as http:
        attempt = 0
        while True:
            attempt += 1
            created = http.post(
                f"{front.url}/v1.0/users",
                headers=headers,
                json=user_body(tenant.upn(f"s{uuid.uuid4().hex[:8]}"), "S"),
            )
            if created.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert created.status_code == 201, f"writes never resumed after {attempt} attempts"
    assert created.headers[SERVER] == target


def test_etcd_killed_keeps_the_primary_without_split_brain_and_recovers(
    ha_cluster: ClusterState, front: FrontEndProcess, tenant: CreatedTenant
) -> None:
    before = _leader(ha_cluster)
    store = launcher.etcd(ha_cluster, "public")
    store.daemon.kill()
    traffic = Traffic(front, tenant, _headers(front, tenant), seconds=TTL_S + 5.0, sign_ins=False)
    thread = _run(traffic)
    primaries_seen: set[tuple[str, ...]] = set()
    while thread.is_alive():
        views = member_views_now(ha_cluster.apis)
        unit = ha_cluster.planned_topology.scale_units[UNIT]
        primaries_seen.add(
            tuple(sorted(s.name for s in unit.servers if s.name in views and views[s.name].leads))
        )
        time.sleep(0.5)
    thread.join()
    writes = [r for r in traffic.results if r[1] == "write"]
    print(
        f"\netcd down {TTL_S + 5:.0f}s: primaries seen {primaries_seen}, "
        f"{sum(r[2] == 201 for r in writes)}/{len(writes)} writes succeeded"
    )
    assert primaries_seen == {(before,)}, "one primary, the same, all along"
    assert writes, "writes went on while etcd was down"
    assert {r[2] for r in writes} == {201}, "failsafe mode: the primary kept taking writes"

    launcher.up(default_topology_path(), ha_cluster.directory)  # etcd back; Patroni writes its keys again
    assert store.healthy()
    assert _leader(ha_cluster) == before
    for _ in range(100):
        if _lock_holder(store.url) == before:
            break
        time.sleep(0.1)
    assert _lock_holder(store.url) == before, "the leader holds its lock in etcd again"


def _lock_holder(etcd_url: str) -> str | None:
    key = base64.b64encode(f"/corestore/{UNIT}/leader".encode()).decode()
    kvs = httpx.post(f"{etcd_url}/v3/kv/range", json={"key": key}, timeout=2).json().get("kvs", [])
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def test_no_quorum_member_alive_a_commit_waits_then_completes(ha_cluster: ClusterState) -> None:
    """The default `no_quorum = "wait"`: with every replica of na-1 down, a commit is not
    acknowledged (status says WAITING) until a replica is back; then it is. The store does
    not hang on it: its write gives up, saying it may have committed, and it had."""
    unit = ha_cluster.planned_topology.scale_units["na-1"]
    head = leader(unit, member_views_now(ha_cluster.apis))
    assert head is not None

    async def scenario() -> None:
        store = CoreStore(ha_cluster, ha_cluster.discover())
        tenant = await store.operator.create_tenant("waits", "US")
        session = await store.operator.session(tenant.id)
        conn = await asyncpg.connect(dsn(ha_cluster, head.name, "superuser"))
        try:
            await conn.execute("CREATE TABLE waits (n int)")
            for server in unit.servers:
                if server.name != head.name:
                    await asyncio.to_thread(launcher.process(ha_cluster, server.name).kill)
            insert = asyncio.create_task(conn.execute("INSERT INTO waits VALUES (1)"))
            done, _ = await asyncio.wait({insert}, timeout=3)
            assert not done, "the commit was acknowledged with no replica to confirm it"
            statuses = {s.name: s for s in await cluster_status(ha_cluster)}
            assert statuses[head.name].sync == "WAITING"
            upn = "stuck@waits.example"
            with pytest.raises(CommitUncertain, match="may have committed"):
                await session.users.create(user_principal_name=upn, display_name="Stuck")
            await asyncio.to_thread(launcher.up, default_topology_path(), ha_cluster.directory)
            await asyncio.wait_for(insert, 30)
            assert (await session.users.resolve(upn)).display_name == "Stuck", "it had committed"
        finally:
            await conn.close()
            await store.close()

    asyncio.run(scenario())
