"""The central test: a tenant moves while clients write and read through two front ends of
two regions; nothing acknowledged is lost, no read fails, a stale process cannot write
to the source."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import asyncpg
import pytest

from corestore.rls import begin_for_tenant
from corestore.roles import DIRECTORY_DB, login
from corestore.store import CoreStore
from corestore.types import Tenant
from devtools.client import connect, create_tenant, sign_in, user_body
from devtools.process import FrontEndProcess, front_ends
from scale_units.state import ClusterState
from tests.moves.conftest import other_unit

PASSWORD = "Adm1n-passw0rd!"
UNTHROTTLED = ("--requests-per-second", "100000", "--request-burst", "100000")
UNTHROTTLED_WRITES = ("--writes-per-second", "100000", "--write-burst", "100000")


@pytest.fixture(scope="module")
def units_front_ends(units_cluster: ClusterState) -> Iterator[list[FrontEndProcess]]:
    options = UNTHROTTLED + UNTHROTTLED_WRITES
    with front_ends(units_cluster.directory, ["westeurope", "northeurope"], options) as started:
        yield started


@dataclass
class Clients:
    """A writer (through one front end) and a reader (through the other), until told to stop."""

    cluster: ClusterState
    writer_url: str
    reader_url: str
    headers: dict[str, str]
    domain: str
    stop: threading.Event = field(default_factory=threading.Event)
    acknowledged: list[str] = field(default_factory=list)
    write_statuses: list[int] = field(default_factory=list)
    read_statuses: list[int] = field(default_factory=list)

    def write(self) -> None:
        with connect(self.cluster.directory, timeout=20) as http:
            for n in range(100_000):
                if self.stop.is_set():
                    return
                upn = f"w{n}@{self.domain}"
                response = http.post(
                    f"{self.writer_url}/v1.0/users", headers=self.headers, json=user_body(upn, f"w{n}")
                )
                self.write_statuses.append(response.status_code)
                if response.status_code == 201:
                    self.acknowledged.append(response.json()["id"])

    def read(self) -> None:
        with connect(self.cluster.directory, timeout=20) as http:
            while not self.stop.is_set():
                response = http.get(f"{self.reader_url}/v1.0/users?$top=5", headers=self.headers)
                self.read_statuses.append(response.status_code)


async def _until(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout_s} s")


async def test_a_move_under_http_load_loses_nothing(
    units_cluster: ClusterState, units_store: CoreStore, units_front_ends: list[FrontEndProcess]
) -> None:
    west, north = units_front_ends
    with connect(units_cluster.directory) as http:
        created = create_tenant(http, west.url, units_cluster.credentials.operator, PASSWORD)
        token = sign_in(http, west.url, created.domain, created.admin, PASSWORD)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    clients = Clients(units_cluster, west.url, north.url, headers, created.domain)
    threads = [threading.Thread(target=clients.write), threading.Thread(target=clients.read)]
    for thread in threads:
        thread.start()
    try:
        await _until(lambda: len(clients.acknowledged) >= 20)  # load before the move
        target = other_unit(created.scale_unit)
        report = await units_store.operator.move_tenant(uuid.UUID(created.id), target)
        during = len(clients.acknowledged)
        await _until(lambda: len(clients.acknowledged) >= during + 20)  # and after it
    finally:
        clients.stop.set()
        for thread in threads:
            thread.join(timeout=30)

    assert report.target == target
    assert set(clients.read_statuses) == {200}, "every read answered"
    assert set(clients.write_statuses) <= {201, 503}, "a write is acknowledged or refused, never wrong"
    primary = units_store.topology.scale_units[target].primary
    async with units_cluster.connect(primary, DIRECTORY_DB) as conn:
        rows = await conn.fetch("SELECT id FROM users WHERE tenant_id = $1", uuid.UUID(created.id))
    stored = {str(r["id"]) for r in rows}
    assert set(clients.acknowledged) <= stored, "every acknowledged write is on the target"


async def test_a_stale_process_cannot_write_to_the_source(
    units_cluster: ClusterState, units_store: CoreStore, moving: Tenant, random_name: str
) -> None:
    stale = CoreStore(units_cluster, units_cluster.discover(), region="northeurope")
    try:
        session = await stale.operator.session(moving.id)  # placement cached before the move
        source = moving.placement.scale_unit
        await units_store.operator.move_tenant(moving.id, other_unit(source))

        # Straight to the source's database, as the app role: refused there, nothing written.
        async with units_cluster.connect(
            units_store.topology.scale_units[source].primary, DIRECTORY_DB, login(units_cluster, "app")
        ) as conn:
            with pytest.raises(asyncpg.PostgresError) as refused:
                await conn.execute(begin_for_tenant(moving.id.value))
            assert refused.value.sqlstate == "CS001"
        # Through the stale session: the source refuses, the write follows the tenant.
        user = await session.users.create(
            user_principal_name=f"late@{random_name}.example", display_name="late"
        )
        assert session.unit.id == other_unit(source)
        assert (await (await units_store.operator.session(moving.id)).users.get(user.id)).id == user.id
    finally:
        await stale.close()


async def test_a_delta_token_from_before_a_move_asks_for_a_full_round(
    units_cluster: ClusterState, units_store: CoreStore, units_front_ends: list[FrontEndProcess]
) -> None:
    west = units_front_ends[0]
    with connect(units_cluster.directory) as http:
        created = create_tenant(http, west.url, units_cluster.credentials.operator, PASSWORD)
        token = sign_in(http, west.url, created.domain, created.admin, PASSWORD)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        first = http.get(f"{west.url}/v1.0/users/delta", headers=headers).json()
        before = first["@odata.deltaLink"]
        assert http.get(before, headers=headers).status_code == 200

        await units_store.operator.move_tenant(uuid.UUID(created.id), other_unit(created.scale_unit))

        expired = http.get(before, headers=headers)  # the front end still caches the old placement
        assert expired.status_code == 400
        assert expired.json()["error"]["code"] == "syncStateNotFound"
        again = http.get(f"{west.url}/v1.0/users/delta", headers=headers).json()
        assert {u["userPrincipalName"] for u in again["value"]} == {created.admin}
        assert http.get(again["@odata.deltaLink"], headers=headers).status_code == 200
