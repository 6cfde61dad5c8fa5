"""The local cluster is real: streaming replicas, status that sees a dead server, clean failures."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from corestore.roles import dsn
from devtools.cli import app
from scale_units.errors import BinariesNotFound, ClusterError
from scale_units.local import binaries, launcher
from scale_units.local.status import cluster_status
from scale_units.model.loader import default_topology_path
from scale_units.state import ClusterState


async def _wait_for_row(dsn: str, table: str, value: str, timeout: float = 10.0) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(int(timeout / 0.05)):
            try:
                found = await conn.fetchval(f"SELECT v FROM {table} WHERE v = $1", value)
            except asyncpg.UndefinedTableError:
                found = None
            if found is not None:
                return str(found)
            await asyncio.sleep(0.05)
        return None
    finally:
        await conn.close()


async def test_write_on_each_primary_reads_back_from_every_replica(
    cluster: ClusterState, random_name: str
) -> None:
    for unit in cluster.discover().scale_units.values():
        conn = await asyncpg.connect(cluster.dsn(unit.primary))
        try:
            await conn.execute(f"CREATE TABLE {random_name} (v text)")
            await conn.execute(f"INSERT INTO {random_name} VALUES ($1)", unit.id)
        finally:
            await conn.close()
        for replica in unit.replicas:
            got = await _wait_for_row(cluster.dsn(replica), random_name, unit.id)
            assert got == unit.id, f"{replica.name} never replayed the write"
            conn = await asyncpg.connect(cluster.dsn(replica))
            try:
                assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
                with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                    await conn.execute(f"INSERT INTO {random_name} VALUES ('x')")
            finally:
                await conn.close()


async def test_app_role_cannot_bypass_rls_or_own_anything(cluster: ClusterState) -> None:
    unit = next(iter(cluster.discover().scale_units.values()))
    conn = await asyncpg.connect(dsn(cluster, unit.primary, "superuser"))
    try:
        row = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolreplication "
            "FROM pg_roles WHERE rolname = 'corestore_app'"
        )
    finally:
        await conn.close()
    assert row is not None
    assert not any(row.values())


def test_status_reports_a_killed_replica_down_and_up_restarts_it(cluster: ClusterState) -> None:
    replica = next(iter(cluster.discover().scale_units.values())).replicas[0]
    launcher.process(cluster, replica.name).kill()
    result = CliRunner().invoke(app, ["cluster", "status", "--dir", str(cluster.directory)])
    assert result.exit_code == 0
    line = next(row for row in result.output.splitlines() if row.startswith(replica.name))
    assert "DOWN" in line.split()
    launcher.up(default_topology_path(), cluster.directory)
    statuses = {s.name: s for s in asyncio.run(cluster_status(cluster))}
    assert statuses[replica.name].alive
    assert statuses[replica.name].role == "replica"


def test_status_json_gives_owner_and_app_addresses(cluster: ClusterState) -> None:
    import json

    result = CliRunner().invoke(app, ["cluster", "status", "--json", "--dir", str(cluster.directory)])
    servers = json.loads(result.output)["servers"]
    assert {s["name"] for s in servers} == set(cluster.servers)
    assert all(s["dsn"]["app"].startswith("postgresql://corestore_app:") for s in servers)
    assert {s["role"] for s in servers} == {"primary", "replica"}


def test_up_reuses_a_running_cluster(cluster: ClusterState) -> None:
    again = launcher.up(default_topology_path(), cluster.directory)
    assert again.servers == ClusterState.load(cluster.directory).servers
    assert again.credentials == cluster.credentials


def test_up_of_another_topology_over_a_cluster_is_refused(cluster: ClusterState) -> None:
    with pytest.raises(ClusterError, match="another topology"):
        launcher.up(default_topology_path("sovereign"), cluster.directory)


@pytest.fixture
def directory() -> Iterator[Path]:
    """A state dir the server user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="corestore-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_half_started_cluster_leaves_nothing_running(directory: Path) -> None:
    with pytest.raises(ClusterError, match="Patroni exited"):
        launcher.up(default_topology_path(), directory, settings={"shared_buffers": "1TB"})
    assert not (directory / "cluster.json").exists()
    assert not (directory / "data").exists()
    assert not (directory / "run").exists()


def test_busy_port_on_restart_is_a_clear_error(directory: Path) -> None:
    state = launcher.up(default_topology_path(), directory)
    try:
        name = state.planned_topology.scale_units["na-1"].replicas[0].name
        launcher.process(state, name).stop()
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT leftovers
            squatter.bind(("127.0.0.1", state.servers[name].port))
            squatter.listen()
            with pytest.raises(ClusterError, match=f"port {state.servers[name].port} of {name}"):
                launcher.up(default_topology_path(), directory)
    finally:
        launcher.down(directory, purge=True)
    assert all(launcher.process(state, n).pid() is None for n in state.servers)


def test_missing_binaries_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(binaries.LOCATORS, binaries.BinarySource.SYSTEM, lambda: [])
    with pytest.raises(BinariesNotFound, match="apt-get install postgresql"):
        binaries.find_binaries(binaries.BinarySource.SYSTEM)
