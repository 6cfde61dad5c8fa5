"""One local PostgreSQL server: its data directory, its process, its configuration.

Modelled on asyncpg's `cluster.py`: thin wrappers over initdb, pg_ctl and
pg_basebackup, run as an unprivileged OS user when we are root (Postgres refuses
to run as root).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scale_units.binaries import PgBinaries
from scale_units.errors import ClusterError

SHARED_SETTINGS: Mapping[str, str] = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "wal_level": "replica",
    "max_wal_senders": "16",
    "max_replication_slots": "16",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "wal_log_hints": "on",
    "max_connections": "200",
    "shared_buffers": "'64MB'",
    "password_encryption": "'scram-sha-256'",
    "log_min_messages": "warning",
}

HBA = """\
# Loopback only; every role authenticates with SCRAM.
host replication corestore_repl 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
"""


@dataclass(frozen=True)
class ServerProcess:
    name: str
    datadir: Path
    logfile: Path
    port: int
    binaries: PgBinaries
    os_user: str | None

    def _run(self, args: list[str], env: Mapping[str, str] | None = None) -> None:
        full_env = {**os.environ, **(env or {})}
        try:
            subprocess.run(
                args,
                user=self.os_user,
                env=full_env,
                capture_output=True,
                text=True,
                check=True,
                timeout=180,
                cwd="/",
            )
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-5:]
            raise ClusterError(f"{self.name}: {Path(args[0]).name} failed: {' | '.join(tail)}") from None
        except subprocess.TimeoutExpired:
            raise ClusterError(f"{self.name}: {Path(args[0]).name} timed out") from None

    def init_primary(self, superuser_password: str, settings: Mapping[str, str]) -> None:
        pwfile = self.datadir.parent / f".{self.name}.pw"
        self._write_private(pwfile, superuser_password + "\n")
        try:
            self._run(
                [
                    self.binaries("initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    f"--pwfile={pwfile}",
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "-N",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = {**SHARED_SETTINGS, **settings}
        lines = [f"{key} = {value}" for key, value in conf.items()]
        lines.append("include_if_exists = 'server.conf'")
        with open(self.datadir / "postgresql.conf", "a") as f:
            f.write("\n# corestore\n" + "\n".join(lines) + "\n")
        (self.datadir / "pg_hba.conf").write_text(HBA)
        self.write_server_conf()

    def clone_from(self, primary: ServerProcess, repl_password: str) -> None:
        """A streaming replica of `primary`, with its own replication slot."""
        self._run(
            [
                self.binaries("pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "corestore_repl",
                "-D",
                str(self.datadir),
                "-X",
                "stream",
                "-c",
                "fast",
                "-C",
                "-S",
                self.slot,
                "-N",
            ],
            env={"PGPASSWORD": repl_password},
        )
        self.follow(primary.port, repl_password)

    def rewind(self, source_conninfo: str) -> None:
        """Rewind a former primary's data onto the new primary's timeline."""
        self._run(
            [
                self.binaries("pg_rewind"),
                "--target-pgdata",
                str(self.datadir),
                "--source-server",
                source_conninfo,
            ]
        )

    @property
    def slot(self) -> str:
        return self.name.replace("-", "_")

    def follow(self, primary_port: int, repl_password: str) -> None:
        """Make this server a standby of the primary on `primary_port`."""
        conninfo = (
            f"host=127.0.0.1 port={primary_port} user=corestore_repl "
            f"password={repl_password} application_name={self.name}"
        )
        self.write_server_conf(primary_conninfo=f"'{conninfo}'", primary_slot_name=f"'{self.slot}'")
        (self.datadir / "standby.signal").touch()

    def write_server_conf(self, **extra: str) -> None:
        settings = {"port": str(self.port), "cluster_name": f"'{self.name}'", **extra}
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        self._write_private(self.datadir / "server.conf", text)

    def _write_private(self, path: Path, text: str) -> None:
        path.write_text(text)
        os.chmod(path, 0o600)
        if self.os_user is not None:
            os.chown(path, *_ids(self.os_user))

    def start(self) -> None:
        if self.pid() is None:
            # A crashed postmaster may linger as a zombie where nothing reaps orphans;
            # Postgres would take its pid for a live server. It is dead: drop the lock.
            (self.datadir / "postmaster.pid").unlink(missing_ok=True)
        self._run(
            [
                self.binaries("pg_ctl"),
                "start",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
            ]
        )

    def stop(self) -> None:
        if self.pid() is not None:
            self._run([self.binaries("pg_ctl"), "stop", "-D", str(self.datadir), "-m", "fast", "-w"])

    def pid(self) -> int | None:
        """The postmaster's pid, if it is running."""
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def kill(self) -> None:
        """SIGKILL the postmaster and every process it started, as a server crash would."""
        pid = self.pid()
        if pid is None:
            return
        for victim in [pid, *_children(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Postgres children each lead their own session)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """True for a live process; a zombie (nobody reaps it in some containers) is dead."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid
