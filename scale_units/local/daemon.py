"""A detached local process (etcd, Patroni) that outlives the command that started it.

Started through a shell that exits at once, so it is nobody's child here (nothing
to reap, no warning about a subprocess left running). Its pid lives in a file, so
later commands (`cluster status`, `down`, a test) find it. As root it runs as the
unprivileged server user, like PostgreSQL itself.
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
# The shell starts the daemon in the background, its output to the log, and says its pid.
DETACH = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


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
        shell = subprocess.run(
            ["/bin/sh", "-c", DETACH, "sh", str(self.logfile), *self.argv],
            user=self.os_user,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
            cwd="/",
            start_new_session=True,  # not killed with the terminal or test run that started it
        )
        self.pidfile.write_text(shell.stdout.strip() + "\n")

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
    return True


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
