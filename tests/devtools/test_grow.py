"""`cluster add-unit` on a running cluster: new tenants land on the new unit and are served by a
front end and a library store that were running before it; bad input changes nothing; status,
down and up know the unit.

One small cluster for the module (tests/topologies/grow.toml); the tests run in file order.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from typer.testing import CliRunner, Result

from corestore.roles import CATALOG_DB, DIRECTORY_DB, dsn
from corestore.store import CoreStore
from devtools.cli import app
from devtools.client import connect, user_body
from devtools.process import FrontEndProcess, front_ends
from scale_units.errors import ClusterError
from scale_units.local import launcher
from scale_units.local.patroni import dcs_prefix
from scale_units.model.geography import Cloud
from scale_units.state import ClusterState
from tests.auth_service.conftest import create_tenant, sign_in
from tests.cluster import temp_cluster

TOPOLOGY = Path(__file__).parents[1] / "topologies" / "grow.toml"
NEW_UNIT = ("emea-2-westeurope", "emea-2-westeurope-2", "emea-2-northeurope")


@pytest.fixture(scope="module")
def grow_cluster() -> Iterator[ClusterState]:
    with temp_cluster(TOPOLOGY) as state:
        yield state


@pytest.fixture(scope="module")
def front(grow_cluster: ClusterState) -> Iterator[FrontEndProcess]:
    """Started before the unit is added, never restarted."""
    with front_ends(grow_cluster.directory, ["westeurope"]) as started:
        yield started[0]


@pytest_asyncio.fixture(scope="module")
async def early_store(grow_cluster: ClusterState) -> AsyncIterator[CoreStore]:
    """A library process's store, opened before the unit is added."""
    store = CoreStore.open(grow_cluster.directory, region="westeurope")
    yield store
    await store.close()


def _cli(directory: Path, *args: str) -> Result:
    """The `corestore` command, as an operator runs it."""
    return CliRunner().invoke(app, [*args, "--dir", str(directory)])


def _state_files(directory: Path) -> dict[str, bytes]:
    """What add-unit would leave: the servers' data directories, the run files (configurations,
    pid files, WAN specs), and the state file's bytes (not the files servers keep changing)."""
    names = {
        str(p.relative_to(directory)): b"" for sub in ("data", "run") for p in (directory / sub).iterdir()
    }
    return names | {"cluster.json": (directory / "cluster.json").read_bytes()}


async def _catalog_units(state: ClusterState) -> list[tuple[str, int]]:
    topology = state.planned_topology
    conn = await asyncpg.connect(dsn(state, topology.catalog_unit(Cloud.PUBLIC).primary, "owner", CATALOG_DB))
    try:
        rows = await conn.fetch("SELECT id, capacity FROM scale_units ORDER BY id")
    finally:
        await conn.close()
    return [(r["id"], r["capacity"]) for r in rows]


BAD_INPUT = [
    (["emea-1", "--geo", "emea"], "exists already"),
    (["emea-2", "--geo", "mars"], "unknown geo 'mars'"),
    (["emea-2", "--geo", "emea", "--replicas", "northeurope,eastus"], "'eastus' is in public/north-america"),
    (["emea-2", "--geo", "emea", "--primary", "eastus"], "'eastus' is in public/north-america"),
    (["na-1", "--geo", "north-america"], "too few regions for a quorum"),
    (["emea-2", "--geo", "emea", "--replicas", "northeurope"], "2 or more replicas"),
    (["emea-2", "--geo", "emea", "--capacity", "0"], "capacity: must be a positive whole number"),
    (["EMEA_2", "--geo", "emea"], "names are lowercase letters"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
async def test_bad_input_is_a_clear_error_and_changes_nothing(
    grow_cluster: ClusterState, args: list[str], message: str
) -> None:
    directory = grow_cluster.directory
    files, units = _state_files(directory), await _catalog_units(grow_cluster)
    result = await asyncio.to_thread(_cli, directory, "cluster", "add-unit", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert _state_files(directory) == files
    assert await _catalog_units(grow_cluster) == units


def test_a_second_add_unit_at_once_is_refused(grow_cluster: ClusterState) -> None:
    directory = grow_cluster.directory
    files = _state_files(directory)
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a running add-unit holds it
        result = _cli(directory, "cluster", "add-unit", "emea-2", "--geo", "emea")
    finally:
        os.close(fd)
    assert result.exit_code == 1
    assert "another add-unit is running" in result.output
    assert _state_files(directory) == files


async def test_a_failure_half_way_stops_and_removes_what_it_started(
    grow_cluster: ClusterState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit's primary is running when a later step fails: nothing of it may stay, not even
    Patroni's keys in etcd (the next test adds the same unit, which they would stop)."""

    def refused(*_: object, **__: object) -> None:
        raise ClusterError("streaming refused (injected)")

    directory = grow_cluster.directory
    files, units = _state_files(directory), await _catalog_units(grow_cluster)
    monkeypatch.setattr(launcher, "wait_streaming", refused)
    result = await asyncio.to_thread(_cli, directory, "cluster", "add-unit", "emea-2", "--geo", "emea")
    assert result.exit_code == 1
    assert "streaming refused (injected)" in result.output
    assert _state_files(directory) == files
    assert await _catalog_units(grow_cluster) == units
    assert _processes_naming(f"{directory}/run/emea-2-".encode()) == []
    assert _processes_naming(f"{directory}/data/emea-2-".encode()) == []
    etcd = launcher.etcd(grow_cluster, "public")
    assert etcd.delete_prefix(dcs_prefix("emea-2")) == 0


def _processes_naming(text: bytes) -> list[str]:
    """Live processes whose command line holds `text` (a server's configuration path)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes():
                found.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


async def test_new_tenants_land_on_the_added_unit_served_by_running_processes(
    grow_cluster: ClusterState, front: FrontEndProcess, early_store: CoreStore
) -> None:
    settled = await early_store.operator.create_tenant("Before", "FR")
    assert settled.placement.scale_unit == "emea-1"

    added = await asyncio.to_thread(
        _cli, grow_cluster.directory, "cluster", "add-unit", "emea-2", "--geo", "emea"
    )
    assert added.exit_code == 0, added.output
    assert "replicas: starting 2, waiting until each streams in its quorum\n" in added.output, "its phases"
    assert "\r" not in added.output, "no progress bar's frames without a terminal"
    assert ("emea-2", 10_000) in await _catalog_units(grow_cluster)

    tenant = await early_store.operator.create_tenant("After", "FR")
    assert tenant.placement.scale_unit == "emea-2", "the emptiest unit of the geo takes it"
    session = await early_store.operator.session(tenant.id)
    user = await session.users.create(user_principal_name="a@after.example", display_name="A")
    assert (await session.users.get(user.id)).display_name == "A"
    assert session.last_server in NEW_UNIT

    with connect(grow_cluster.directory) as http:
        created = await asyncio.to_thread(create_tenant, http, front.url, grow_cluster.credentials.operator)
        assert created.scale_unit == "emea-2"
        token = sign_in(http, front.url, created.domain, created.admin)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        posted = http.post(f"{front.url}/v1.0/users", headers=headers, json=user_body(created.upn("b"), "B"))
        assert posted.status_code == 201, posted.text
        read = http.get(f"{front.url}/v1.0/users/{posted.json()['id']}", headers=headers)
        assert read.status_code == 200
        assert read.json()["displayName"] == "B"

    # The early store's mover finds the unit too: a tenant of emea-1 moves there.
    moved = await early_store.operator.move_tenant(settled.id.value, "emea-2")
    assert (moved.source, moved.target) == ("emea-1", "emea-2")
    moved_session = await early_store.operator.session(settled.id)
    await moved_session.users.create(user_principal_name="m@before.example", display_name="M")
    assert moved_session.unit.id == "emea-2"


def _status(directory: Path) -> dict[str, dict[str, Any]]:
    result = _cli(directory, "cluster", "status", "--json")
    assert result.exit_code == 0, result.output
    return {s["name"]: s for s in json.loads(result.output)["servers"]}


def test_status_shows_the_unit_and_down_then_up_brings_it_back(grow_cluster: ClusterState) -> None:
    directory = grow_cluster.directory
    servers = _status(directory)
    assert {n: (servers[n]["scale_unit"], servers[n]["alive"]) for n in NEW_UNIT} == {
        n: ("emea-2", True) for n in NEW_UNIT
    }
    assert sorted(servers[n]["role"] for n in NEW_UNIT) == ["primary", "replica", "replica"]

    down = _cli(directory, "cluster", "down")
    assert down.exit_code == 0, down.output
    assert not any(s["alive"] for s in _status(directory).values())

    up = _cli(directory, "cluster", "up", "--topology", str(TOPOLOGY))
    assert up.exit_code == 0, up.output
    assert "stopped, starting them\n" in up.output, "one line per phase"
    servers = _status(directory)
    assert all(servers[n]["alive"] for n in NEW_UNIT)
    assert [servers[n]["sync"] for n in NEW_UNIT if servers[n]["role"] == "primary"] == ["quorum"]
    assert asyncio.run(_users_on(directory, "emea-2")) >= 2, "the unit's data came back with it"


async def _users_on(directory: Path, unit: str) -> int:
    state = ClusterState.load(directory)  # the fixture's copy predates the unit
    async with state.connect(state.discover().scale_units[unit].primary, DIRECTORY_DB) as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM users")
    return count
