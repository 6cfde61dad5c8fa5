"""A detached local process (etcd, Patroni) that outlives the command that started it.

Its pid lives in a file, so later commands (`cluster status`, `down`, a test) find it.
As root it runs as the unprivileged server user, like PostgreSQL itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scale_units.errors import ClusterError

STOP_TIMEOUT_S = 30.0
# Daemons this process started, kept to be reaped (and not reported as leaked) once they end.
_SPAWNED: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Daemon:
    name: str
    argv: Sequence[str]
    pidfile: Path
    logfile: Path
    os_user: str | None
    env: Mapping[str, str] = field(default_factory=dict)

    def start(self) -> None:
        if self.pid() is not None:
            return
        with open(self.logfile, "ab") as log:
            child = subprocess.Popen(
                list(self.argv),
                user=self.os_user,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd="/",
                start_new_session=True,  # not killed with the terminal or test run that started it
            )
        _SPAWNED[child.pid] = child
        self.pidfile.write_text(f"{child.pid}\n")

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if alive(pid) else None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if it has not gone within `timeout`."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, timeout):
            self.kill()
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a crash of its machine would."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not wait_gone(pid, 10):
            raise ClusterError(f"{self.name} (pid {pid}) survived SIGKILL")


def private_file(path: Path, text: str, os_user: str | None) -> None:
    """A file only the server user reads (configurations hold passwords)."""
    path.write_text(text)
    os.chmod(path, 0o600)
    if os_user is not None:
        shutil.chown(path, os_user, None)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    """Our own child turns zombie until waited for."""
    child = _SPAWNED.get(pid)
    if child is not None and child.poll() is not None:
        del _SPAWNED[pid]


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Postgres children each lead their own session)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """True for a live process; a zombie (nobody reaps it in some containers) is dead."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"
