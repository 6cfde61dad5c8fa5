"""The local cluster: one etcd per cloud, and a Patroni member per server of every scale unit.

`up` either brings the whole cluster to streaming or leaves nothing running;
a second `up` reuses the cluster recorded in the state directory and restarts the
members that are down (Patroni rewinds a former primary and rejoins it as a replica).
Slightly over 300 lines: start, reuse, and tear down after a half-way failure are one
lifecycle, each undoing the others' steps.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scale_units.errors import ClusterError
from scale_units.leaders import MemberView, leader, member_views_now
from scale_units.local import tls
from scale_units.local.binaries import (
    DEFAULT_SOURCE,
    BinarySource,
    find_binaries,
    python_runnable_by,
    runnable_by,
)
from scale_units.local.etcd import Etcd, etcd_binary
from scale_units.local.patroni import write_config
from scale_units.local.server import ServerProcess
from scale_units.model.loader import load_topology
from scale_units.model.topology import ScaleUnit, Topology
from scale_units.model.types import ServerName
from scale_units.ports import free_ports
from scale_units.progress import Report, quiet
from scale_units.state import (
    STATE_FILE,
    ClusterState,
    Credentials,
    EtcdState,
    ServerState,
)
from scale_units.wan import cluster as wan_cluster

STREAMING_TIMEOUT_S = 60.0
SUBDIRS = ("data", "logs", "run")


def server_os_user() -> str | None:
    """Postgres refuses to run as root: as root, servers run as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    return os.environ.get("CORESTORE_PG_USER", "nobody")


def process(state: ClusterState, name: ServerName) -> ServerProcess:
    return ServerProcess(
        name=name,
        datadir=state.data_dir(name),
        logfile=state.log_file(name),
        config=state.run_dir / f"{name}.yml",
        pidfile=state.run_dir / f"{name}.pid",
        os_user=state.os_user,
        python=python_runnable_by(state.os_user),
    )


def etcd(state: ClusterState, cloud: str) -> Etcd:
    ports = state.etcd[cloud]
    return Etcd(
        cloud=cloud,
        client_port=ports.client_port,
        peer_port=ports.peer_port,
        binary=etcd_binary(state.os_user),
        datadir=state.directory / "data" / f"etcd-{cloud}",
        rundir=state.run_dir,
        logdir=state.directory / "logs",
        os_user=state.os_user,
    )


def up(
    topology_path: Path,
    directory: Path,
    source: BinarySource = DEFAULT_SOURCE,
    settings: Mapping[str, str] | None = None,
    wan: bool = False,
    report: Report = quiet,
) -> ClusterState:
    """Start (or reuse) the cluster of `topology_path` in `directory`; `wan` (or the topology's
    `[wan] enabled`) puts every server behind its WAN proxy."""
    topology_text = Path(topology_path).read_text()
    topology = load_topology(topology_path)
    tls.provision(directory, topology.regions)
    if (directory / STATE_FILE).exists():
        return _reuse(ClusterState.load(directory), topology_text, report)
    wan = wan or topology.wan.enabled
    state = _prepare(topology, topology_text, directory, source, dict(settings or {}), wan)
    try:
        _create(state, topology, report)
    except BaseException:
        _destroy(state)
        raise
    state.save()
    return state


def _reuse(state: ClusterState, topology_text: str, report: Report) -> ClusterState:
    if state.topology_toml != topology_text:
        raise ClusterError(
            f"a cluster of another topology is at {state.directory}; "
            "run `corestore cluster down --purge` first or choose another --dir"
        )
    report("etcd: starting")
    _start_etcd(state)
    wan_cluster.start(state)
    stopped = [n for n in state.servers if process(state, n).patroni.pid() is None]
    report(f"servers: {len(stopped)} of {len(state.servers)} stopped, starting them")
    for name in stopped:
        _check_port_free(name, state.servers[name].port)
        _check_port_free(name, state.servers[name].api_port)
    _start_members(state, stopped)
    report("servers: waiting until every replica streams")
    wait_streaming(state)
    return state


def _prepare(
    topology: Topology, text: str, directory: Path, source: BinarySource, settings: dict[str, str], wan: bool
) -> ClusterState:
    os_user = server_os_user()
    binaries = runnable_by(find_binaries(source), os_user)
    etcd_binary(os_user)
    python_runnable_by(os_user)
    for sub in SUBDIRS:
        if (directory / sub).exists():
            raise ClusterError(f"{directory / sub} exists but holds no cluster state; remove it")
    directory.mkdir(parents=True, exist_ok=True)
    _own_subdirs(directory, os_user)
    names = [s.name for s in topology.servers()]
    clouds = [c.value for c in topology.clouds()]
    ports = iter(free_ports((3 if wan else 2) * len(names) + 2 * len(clouds)))
    return ClusterState(
        directory=directory,
        topology_toml=text,
        servers={
            name: ServerState(next(ports), next(ports), proxy_port=next(ports) if wan else None)
            for name in names
        },
        etcd={cloud: EtcdState(next(ports), next(ports)) for cloud in clouds},
        credentials=Credentials.generate(),
        bindir=str(binaries.bindir),
        os_user=os_user,
        settings=settings,
    )


def _own_subdirs(directory: Path, os_user: str | None) -> None:
    for sub in SUBDIRS:
        path = directory / sub
        path.mkdir(mode=0o700)
        if os_user is not None:
            shutil.chown(path, os_user, None)
    if os_user is None:
        return
    os.chmod(directory, 0o711)  # noqa: S103 - traverse only, for the server user
    probe = subprocess.run(["test", "-w", str(directory / "data")], user=os_user)
    if probe.returncode != 0:
        for sub in SUBDIRS:
            shutil.rmtree(directory / sub)
        raise ClusterError(
            f"user {os_user} (servers never run as root) cannot reach {directory}; "
            "choose a --dir it can traverse, e.g. under /tmp"
        )


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


def _create(state: ClusterState, topology: Topology, report: Report) -> None:
    """etcd, then every unit's members."""
    report(f"etcd: starting ({len(state.etcd)} clouds)")
    _start_etcd(state)
    wan_cluster.write_specs(state, state.servers)
    wan_cluster.start(state)
    start_units(state, list(topology.scale_units.values()), report)


def start_units(state: ClusterState, units: Sequence[ScaleUnit], report: Report = quiet) -> None:
    """Each unit's planned primary (it bootstraps), then its replicas, until all stream
    (`corestore migrate` then makes the store's roles and databases)."""
    for unit in units:
        for server in unit.servers:
            write_config(state, unit, server)
    primaries = [u.primary.name for u in units]
    report(f"primaries: starting {len(primaries)}, waiting until each leads")
    _start_members(state, primaries)
    _wait(state, "no leader", lambda views: [n for n in primaries if not _leads(views, n)])
    replicas = [s.name for u in units for s in u.replicas]
    report(f"replicas: starting {len(replicas)}, waiting until each streams in its quorum")
    _start_members(state, replicas)
    wait_streaming(state, units)


def _start_etcd(state: ClusterState) -> None:
    for cloud in state.etcd:
        etcd(state, cloud).start()
    for cloud in state.etcd:
        etcd(state, cloud).wait_healthy()


def _start_members(state: ClusterState, names: Iterable[ServerName]) -> None:
    for name in names:
        process(state, name).start()


Views = Mapping[ServerName, MemberView]


def _leads(views: Views, name: ServerName) -> bool:
    return name in views and views[name].leads


def wait_streaming(
    state: ClusterState, units: Iterable[ScaleUnit] | None = None, timeout: float = STREAMING_TIMEOUT_S
) -> None:
    """Until each unit (default: every one) has a leader and every other member streams from
    it and is in its quorum."""
    watched = list(state.planned_topology.scale_units.values() if units is None else units)

    def missing(views: Views) -> list[str]:
        found: list[str] = []
        for unit in watched:
            head = leader(unit, views)
            if head is None:
                found.append(f"{unit.id} (no leader)")
                continue
            joined = set(head.replicas) & set(head.quorum)
            found += [s.name for s in unit.servers if s.name != head.name and s.name not in joined]
        return found

    _wait(state, "not streaming in the quorum", missing, timeout)


def _wait(
    state: ClusterState,
    what: str,
    missing: Callable[[Views], list[str]],
    timeout: float = STREAMING_TIMEOUT_S,
) -> None:
    """Poll the members' REST APIs until `missing(views)` is empty; a Patroni that exits fails fast."""
    deadline = time.monotonic() + timeout
    while True:
        left = missing(member_views_now(state.apis))
        if not left:
            return
        for name in state.servers:
            member = process(state, name)
            if member.pidfile.exists() and member.patroni.pid() is None:
                raise ClusterError(f"{name}: Patroni exited: {_tail(member.logfile)}")
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} after {timeout:.0f}s: {sorted(left)}")
        time.sleep(0.1)


def _tail(logfile: Path, lines: int = 3) -> str:
    try:
        text = logfile.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "no log"
    return " | ".join(text[-lines:])


def down(directory: Path, purge: bool = False) -> bool:
    """Stop every server; with `purge`, remove the data too. False if there was no cluster."""
    if not (directory / STATE_FILE).exists():
        return False
    state = ClusterState.load(directory)
    if purge:
        _destroy(state)  # the data goes too: no clean shutdown to wait for
        shutil.rmtree(directory)
    else:
        _stop_all(state)
    return True


def _stop_all(state: ClusterState) -> None:
    """Replicas first, so no replica takes over from a primary that is only shutting down."""
    topology = state.discover()
    replicas = [s.name for s in topology.servers() if s.role.value == "replica"]
    primaries = [s.name for s in topology.servers() if s.name not in replicas]
    with ThreadPoolExecutor(max_workers=max(1, len(state.servers))) as pool:
        for group in (replicas, primaries):
            list(pool.map(lambda name: process(state, name).stop(), group))
    wan_cluster.stop(state)
    for cloud in state.etcd:
        with contextlib.suppress(ClusterError):
            etcd(state, cloud).daemon.stop()


def _destroy(state: ClusterState) -> None:
    """Undo a half-started `up`: nothing left running, nothing half-written."""
    for name in state.servers:
        with contextlib.suppress(Exception):
            process(state, name).kill()
    with contextlib.suppress(Exception):
        wan_cluster.kill(state)
    for cloud in state.etcd:
        with contextlib.suppress(Exception):
            etcd(state, cloud).daemon.kill()
    for sub in SUBDIRS:
        shutil.rmtree(state.directory / sub, ignore_errors=True)
    (state.directory / STATE_FILE).unlink(missing_ok=True)
