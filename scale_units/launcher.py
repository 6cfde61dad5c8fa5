"""The local cluster: every scale unit's primary and streaming replicas on loopback.

`up` either brings the whole cluster to streaming or leaves nothing running;
a second `up` reuses (or restarts) the cluster recorded in the state directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import asyncpg

from scale_units import tls
from scale_units.binaries import DEFAULT_SOURCE, BinarySource, find_binaries, runnable_by
from scale_units.errors import ClusterError
from scale_units.loader import load_topology
from scale_units.server import ServerProcess
from scale_units.state import (
    CATALOG_DB,
    DIRECTORY_DB,
    STATE_FILE,
    ClusterState,
    Credentials,
    ServerState,
)
from scale_units.topology import Role, ScaleUnit, Server, Topology
from scale_units.types import ServerName

STREAMING_TIMEOUT_S = 60.0


def server_os_user() -> str | None:
    """Postgres refuses to run as root: as root, servers run as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    return os.environ.get("CORESTORE_PG_USER", "nobody")


def process(state: ClusterState, name: ServerName) -> ServerProcess:
    from scale_units.binaries import PgBinaries

    return ServerProcess(
        name=name,
        datadir=state.data_dir(name),
        logfile=state.log_file(name),
        port=state.servers[name].port,
        binaries=PgBinaries(Path(state.bindir)),
        os_user=state.os_user,
    )


def up(
    topology_path: Path,
    directory: Path,
    source: BinarySource = DEFAULT_SOURCE,
    settings: Mapping[str, str] | None = None,
) -> ClusterState:
    """Start (or reuse) the cluster of `topology_path` in `directory`."""
    topology_text = Path(topology_path).read_text()
    topology = load_topology(topology_path)
    tls.provision(directory, topology.regions)
    if (directory / STATE_FILE).exists():
        return _reuse(ClusterState.load(directory), topology_text)
    state = _prepare(topology, topology_text, directory, source, dict(settings or {}))
    try:
        asyncio.run(_create(state, topology))
    except BaseException:
        _destroy(state)
        raise
    state.save()
    return state


def _reuse(state: ClusterState, topology_text: str) -> ClusterState:
    if state.topology_toml != topology_text:
        raise ClusterError(
            f"a cluster of another topology is at {state.directory}; "
            "run `corestore cluster down --purge` first or choose another --dir"
        )
    stopped = [n for n in state.servers if process(state, n).pid() is None]
    for name in stopped:
        _check_port_free(name, state.servers[name].port)
    for name in sorted(stopped, key=lambda n: state.servers[n].role is not Role.PRIMARY):
        process(state, name).start()
    asyncio.run(wait_streaming(state))
    return state


def _prepare(
    topology: Topology, text: str, directory: Path, source: BinarySource, settings: dict[str, str]
) -> ClusterState:
    os_user = server_os_user()
    binaries = runnable_by(find_binaries(source), os_user)
    for sub in ("data", "logs"):
        if (directory / sub).exists():
            raise ClusterError(f"{directory / sub} exists but holds no cluster state; remove it")
    directory.mkdir(parents=True, exist_ok=True)
    _own_subdirs(directory, os_user)
    ports = _free_ports(len(topology.servers()))
    servers = {s.name: ServerState(port, s.role) for s, port in zip(topology.servers(), ports, strict=True)}
    return ClusterState(
        directory=directory,
        topology_toml=text,
        servers=servers,
        credentials=Credentials.generate(),
        bindir=str(binaries.bindir),
        os_user=os_user,
        settings=settings,
    )


def _own_subdirs(directory: Path, os_user: str | None) -> None:
    for sub in ("data", "logs"):
        path = directory / sub
        path.mkdir(mode=0o700)
        if os_user is not None:
            shutil.chown(path, os_user, None)
    if os_user is None:
        return
    os.chmod(directory, 0o711)  # noqa: S103 - traverse only, for the server user
    probe = subprocess.run(["test", "-w", str(directory / "data")], user=os_user)
    if probe.returncode != 0:
        shutil.rmtree(directory / "data")
        shutil.rmtree(directory / "logs")
        raise ClusterError(
            f"user {os_user} (servers never run as root) cannot reach {directory}; "
            "choose a --dir it can traverse, e.g. under /tmp"
        )


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _check_port_free(name: ServerName, port: int, wait: float = 5.0) -> None:
    """Refuse a port another process holds; children of a killed server release it soon."""
    deadline = time.monotonic() + wait
    while True:
        with socket.socket() as sock:
            # As Postgres binds: TIME_WAIT leftovers of old connections do not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise ClusterError(f"port {port} of {name} is in use by another process") from None
        time.sleep(0.1)


async def _create(state: ClusterState, topology: Topology) -> None:
    await asyncio.gather(*(_create_unit(state, topology, u) for u in topology.scale_units.values()))
    await wait_streaming(state)


async def _create_unit(state: ClusterState, topology: Topology, unit: ScaleUnit) -> None:
    primary = process(state, unit.primary.name)
    await asyncio.to_thread(primary.init_primary, state.credentials.superuser, state.settings)
    await asyncio.to_thread(primary.start)
    is_catalog = unit.id in topology.catalogs.values()
    await _bootstrap_roles(state, unit.primary.name, is_catalog)
    for replica in unit.replicas:
        server = process(state, replica.name)
        await asyncio.to_thread(server.clone_from, primary, state.credentials.replication)
        await asyncio.to_thread(server.start)
    await set_quorum(state, unit, unit.primary)


def quorum(unit: ScaleUnit, primary: Server, available: set[ServerName] | None = None) -> str:
    """`synchronous_standby_names` for `primary`: any one available replica outside its region.

    Empty (asynchronous, degraded) when no such replica is available, e.g. just after
    a failover of a two-server unit; `rejoin` restores the quorum.
    """
    others = [
        f'"{s.name}"'
        for s in unit.servers
        if s is not primary and s.region != primary.region and (available is None or s.name in available)
    ]
    return f"ANY 1 ({', '.join(others)})" if others else ""


async def set_quorum(
    state: ClusterState, unit: ScaleUnit, primary: Server, available: set[ServerName] | None = None
) -> None:
    """Commits wait for one replica in another region: an acknowledged write survives a region."""
    conn = await asyncpg.connect(state.dsn(primary, "superuser", "postgres"))
    try:
        setting = quorum(unit, primary, available)
        await conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{setting}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def _bootstrap_roles(state: ClusterState, primary: ServerName, is_catalog: bool) -> None:
    """Owner (migrations), app (owns nothing, no BYPASSRLS) and replication roles."""
    creds = state.credentials
    conn = await asyncpg.connect(state.dsn(primary, "superuser", "postgres"))
    try:
        await conn.execute(f"""
            CREATE ROLE corestore_owner LOGIN PASSWORD {_literal(creds.owner)};
            CREATE ROLE corestore_app LOGIN PASSWORD {_literal(creds.app)}
                NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
            CREATE ROLE corestore_repl LOGIN REPLICATION PASSWORD {_literal(creds.replication)};
        """)
        for database in [DIRECTORY_DB] + ([CATALOG_DB] if is_catalog else []):
            await conn.execute(f"CREATE DATABASE {database} OWNER corestore_owner")
            await conn.execute(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC")
            await conn.execute(f"GRANT CONNECT ON DATABASE {database} TO corestore_app")
    finally:
        await conn.close()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def wait_streaming(state: ClusterState, timeout: float = STREAMING_TIMEOUT_S) -> None:
    """Until every running replica streams from its primary (bounded by `timeout`)."""
    topology = state.topology
    deadline = time.monotonic() + timeout
    for unit in topology.scale_units.values():
        wanted = {r.name for r in unit.replicas}
        conn = await asyncpg.connect(state.dsn(unit.primary, "superuser", "postgres"))
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'"
                )
                missing = wanted - {r["application_name"] for r in rows}
                if not missing:
                    break
                if time.monotonic() > deadline:
                    raise ClusterError(f"replicas not streaming after {timeout:.0f}s: {sorted(missing)}")
                await asyncio.sleep(0.1)
        finally:
            await conn.close()


def down(directory: Path, purge: bool = False) -> bool:
    """Stop every server; with `purge`, remove the data too. False if there was no cluster."""
    if not (directory / STATE_FILE).exists():
        return False
    state = ClusterState.load(directory)
    _stop_all(state)
    if purge:
        shutil.rmtree(directory)
    return True


def _stop_all(state: ClusterState) -> None:
    for name in state.servers:
        server = process(state, name)
        try:
            server.stop()
        except ClusterError:
            server.kill()


def _destroy(state: ClusterState) -> None:
    """Undo a half-started `up`: nothing left running, nothing half-written."""
    for name in state.servers:
        with contextlib.suppress(Exception):
            process(state, name).kill()
    time.sleep(0.2)
    for sub in ("data", "logs"):
        shutil.rmtree(state.directory / sub, ignore_errors=True)
    (state.directory / STATE_FILE).unlink(missing_ok=True)
