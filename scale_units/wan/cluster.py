"""The simulated WAN of a running cluster: one proxy process per server, started and stopped
with the cluster, and what they report.

Each proxy is a detached `python -m scale_units.wan.proxy SPEC` (like Patroni and etcd, so
`cluster status` and `down` find it by its pid file). With the WAN on, the server's
advertised address (Patroni's `connect_address`, every DSN of `ClusterState.dsn`) is
its proxy's port: no client reaches the server around it, so a dead proxy is a
server out of reach, and routing marks it down.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scale_units.errors import ClusterError
from scale_units.local.binaries import PythonCommand
from scale_units.local.daemon import Daemon, private_file
from scale_units.model.topology import Topology
from scale_units.model.types import ServerName
from scale_units.routing import distance_ms
from scale_units.state import ClusterState
from scale_units.wan.proxy import ProxySpec, WanSpec

MIB = 1024 * 1024
START_TIMEOUT_S = 10.0


def round_trips(topology: Topology) -> dict[str, dict[str, float]]:
    """Every region pair's round trip: the topology's `latency_ms`, else the distance estimate."""
    regions = topology.regions
    return {a: {b: distance_ms(regions[a], regions[b]) for b in regions if b != a} for a in regions}


def proxy_daemon(state: ClusterState, name: ServerName) -> Daemon:
    """Our own interpreter as our own user: a proxy holds no data and needs no server user."""
    python = PythonCommand((sys.executable,), {})
    return Daemon(
        f"wan proxy {name}",
        python.module("scale_units.wan.proxy", str(_spec_file(state, name))),
        state.run_dir / f"wan-{name}.pid",
        state.directory / "logs" / f"wan-{name}.log",
        None,
    )


def _spec_file(state: ClusterState, name: ServerName) -> Path:
    return state.run_dir / f"wan-{name}.json"


def _stats_file(state: ClusterState, name: ServerName) -> Path:
    return state.run_dir / f"wan-{name}.stats.json"


def proxied(state: ClusterState) -> list[ServerName]:
    return [name for name, server in state.servers.items() if server.proxy_port is not None]


def write_specs(state: ClusterState, names: Iterable[ServerName]) -> None:
    """The spec files of the proxies of `names` (a cluster's servers, or a unit added to it)."""
    topology = state.planned_topology
    regions = {s.name: s.region for s in topology.servers()}
    rtt = round_trips(topology)
    for name in set(proxied(state)) & set(names):
        server = state.servers[name]
        assert server.proxy_port is not None
        spec = ProxySpec(name, server.proxy_port, server.port, regions[name])
        wan = WanSpec((spec,), regions, rtt, topology.wan.jitter_ms, str(_stats_file(state, name)))
        private_file(_spec_file(state, name), wan.to_json(), None)


def start(state: ClusterState) -> None:
    """Every proxy not running, back once each listens (a replica's first connection is through it)."""
    names = proxied(state)
    for name in names:
        proxy_daemon(state, name).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    for name in names:
        while not _listens(state.servers[name].advertised_port):
            if proxy_daemon(state, name).pid() is None or time.monotonic() > deadline:
                raise ClusterError(f"the WAN proxy of {name} did not start; see its log")
            time.sleep(0.05)


def _listens(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop(state: ClusterState) -> None:
    for name in proxied(state):
        proxy_daemon(state, name).stop()


def kill(state: ClusterState) -> None:
    for name in proxied(state):
        proxy_daemon(state, name).kill()


@dataclass(frozen=True)
class WanStats:
    """The proxies' own CPU against the bytes they moved: whether the WAN itself is a bottleneck."""

    proxies: int
    running: int
    cpu_s: float
    moved_bytes: int

    @property
    def cpu_s_per_mib(self) -> float | None:
        return self.cpu_s / (self.moved_bytes / MIB) if self.moved_bytes else None

    def line(self) -> str:
        per = "-" if self.cpu_s_per_mib is None else f"{self.cpu_s_per_mib * 1000:.1f} ms"
        return (
            f"WAN: {self.running}/{self.proxies} proxies up, {self.moved_bytes / MIB:.1f} MiB moved, "
            f"{self.cpu_s:.2f} CPU s, {per} CPU per MiB"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "proxies": self.proxies,
            "running": self.running,
            "cpu_s": self.cpu_s,
            "moved_bytes": self.moved_bytes,
            "cpu_s_per_mib": self.cpu_s_per_mib,
        }


def stats(state: ClusterState) -> WanStats | None:
    """What the proxies last wrote (each once a second); None without a WAN."""
    names = proxied(state)
    if not names:
        return None
    cpu, moved, running = 0.0, 0, 0
    for name in names:
        running += proxy_daemon(state, name).pid() is not None
        try:
            raw = json.loads(_stats_file(state, name).read_text())
        except (FileNotFoundError, ValueError):
            continue
        cpu += float(raw["cpu_s"])
        moved += sum(int(n) for n in raw["moved"].values())
    return WanStats(len(names), running, cpu, moved)
