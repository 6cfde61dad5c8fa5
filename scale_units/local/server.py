"""One member of a scale unit: a Patroni process and the PostgreSQL server it runs.

Patroni initialises, clones, starts, promotes and rewinds PostgreSQL; we only start
and stop Patroni, and kill both to play a machine that dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from scale_units.local.binaries import PythonCommand
from scale_units.local.daemon import Daemon, alive, children, wait_gone


@dataclass(frozen=True)
class ServerProcess:
    name: str
    datadir: Path
    logfile: Path
    config: Path
    pidfile: Path
    os_user: str | None
    python: PythonCommand

    @property
    def patroni(self) -> Daemon:
        argv = self.python.module("patroni", str(self.config))
        return Daemon(f"patroni {self.name}", argv, self.pidfile, self.logfile, self.os_user, self.python.env)

    def start(self) -> None:
        if self.pid() is None:
            # A crashed postmaster may linger as a zombie where nothing reaps orphans;
            # Postgres would take its pid for a live server. It is dead: drop the lock.
            (self.datadir / "postmaster.pid").unlink(missing_ok=True)
        self.patroni.start()

    def stop(self) -> None:
        """Patroni stops PostgreSQL (fast shutdown) and, as leader, hands the lock back."""
        self.patroni.stop()
        self.kill_postgres()  # only if Patroni died before it could stop it

    def kill(self) -> None:
        """SIGKILL Patroni and whatever it runs (a base backup, initdb), then PostgreSQL and every
        process it started: a machine that dies."""
        pid = self.patroni.pid()
        spawned = [] if pid is None else children(pid)
        self.patroni.kill()
        self.kill_postgres()
        for victim in spawned:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)

    def kill_postgres(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        for victim in [pid, *children(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        wait_gone(pid, 10)

    def pid(self) -> int | None:
        """The postmaster's pid, if it is running."""
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None
        return pid if alive(pid) else None
