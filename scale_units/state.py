"""A running local cluster's state: the file every later command and process reads.

It keeps only what is ours: the topology file's text (so the country table and regions
come back the same), the scale units `cluster add-unit` added since, each server's ports,
each cloud's etcd ports, the per-cluster passwords, and how servers are run.  Roles are
not here: Patroni holds each scale unit's leader lock in etcd and reports it through its
REST API (`scale_units.leaders`). Written atomically, mode 0600.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg

from scale_units.errors import ClusterError
from scale_units.leaders import member_views_now, with_leaders
from scale_units.model.loader import parse_topology
from scale_units.model.topology import Address, ScaleUnit, Server, Topology
from scale_units.model.types import ScaleUnitId, ServerName

STATE_FILE = "cluster.json"
ONE_OFF_CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Credentials:
    """Per-cluster passwords: generated at `cluster up`, never constants."""

    superuser: str
    owner: str
    app: str
    replication: str
    operator: str  # the front end's operator credential (tenant creation, first administrator)
    secret_hash_key: str  # keys the hash that client secrets are stored under
    patroni: str  # Patroni's REST API: switchover, reinit and restart need it

    @classmethod
    def generate(cls) -> Credentials:
        return cls(*(secrets.token_urlsafe(32) for _ in range(7)))


SUPERUSER = "postgres"  # Patroni bootstraps each server with it; the other roles are its users'


@dataclass(frozen=True)
class Login:
    user: str
    password: str


@dataclass(frozen=True)
class ServerState:
    port: int  # PostgreSQL
    api_port: int  # Patroni's REST API
    host: str = "127.0.0.1"  # a compose service's name inside a compose network
    proxy_port: int | None = None  # its WAN proxy (`scale_units.wan.proxy`), if the WAN is on

    @property
    def advertised_port(self) -> int:
        """Where every client and replica connects: the WAN proxy if there is one, never around it."""
        return self.port if self.proxy_port is None else self.proxy_port


@dataclass(frozen=True)
class EtcdState:
    client_port: int
    peer_port: int


@dataclass(frozen=True)
class ClusterState:
    directory: Path
    topology_toml: str
    servers: dict[ServerName, ServerState]
    etcd: dict[str, EtcdState]  # by cloud
    credentials: Credentials
    bindir: str
    os_user: str | None
    settings: dict[str, str]
    # `[scale_units.X]` tables of the units `cluster add-unit` added, as the topology file spells them
    added_units: dict[ScaleUnitId, dict[str, Any]] = field(default_factory=dict)

    @property
    def planned_topology(self) -> Topology:
        """Addresses filled in, roles as the topology file (and `add-unit`) planned them (its
        primaries bootstrap)."""
        base = parse_topology(self.topology_raw)
        units = {uid: self._resolve(unit) for uid, unit in base.scale_units.items()}
        return replace(base, scale_units=units)

    def discover(self) -> Topology:
        """Roles as Patroni reports them now: asks every member's REST API, so a caller does it
        once and passes the snapshot on.  A unit whose leader nobody reports keeps its planned
        primary; later changes are followed by `corestore.servers.monitor`, never by asking again here."""
        return with_leaders(self.planned_topology, member_views_now(self.apis))

    @property
    def topology_raw(self) -> dict[str, Any]:
        """The topology file's tables with the added units among its own."""
        import tomllib

        raw = tomllib.loads(self.topology_toml)
        raw["scale_units"] = {**raw.get("scale_units", {}), **self.added_units}
        return raw

    @property
    def apis(self) -> dict[ServerName, str]:
        """Each member's Patroni REST API, as host:port."""
        return {name: f"{server.host}:{server.api_port}" for name, server in self.servers.items()}

    def _resolve(self, unit: ScaleUnit) -> ScaleUnit:
        return replace(unit, servers=tuple(self._resolve_server(s) for s in unit.servers))

    def _resolve_server(self, server: Server) -> Server:
        known = self.servers[server.name]
        return server.with_address(Address(known.host, known.advertised_port))

    @asynccontextmanager
    async def connect(
        self,
        server: Server | ServerName,
        database: str = "postgres",
        login: Login | None = None,
        timeout: float = ONE_OFF_CONNECT_TIMEOUT_S,
    ) -> AsyncIterator[asyncpg.Connection]:
        """One connection for a one-off job (tooling, audits, the launcher), always closed, as the
        superuser unless `login` says otherwise; the store's hot path uses its pools instead."""
        conn = await asyncpg.connect(self.dsn(server, database, login), timeout=timeout)
        try:
            yield conn
        finally:
            await conn.close()

    @property
    def superuser(self) -> Login:
        return Login(SUPERUSER, self.credentials.superuser)

    def dsn(self, server: Server | ServerName, database: str = "postgres", login: Login | None = None) -> str:
        """A libpq/asyncpg connection URL for `server` as `login` (the superuser unless given)."""
        name = server if isinstance(server, str) else server.name
        who = login or self.superuser
        server_state = self.servers[name]
        where = f"{server_state.host}:{server_state.advertised_port}"
        return f"postgresql://{who.user}:{who.password}@{where}/{database}"

    def data_dir(self, name: ServerName) -> Path:
        return self.directory / "data" / name

    def log_file(self, name: ServerName) -> Path:
        return self.directory / "logs" / f"{name}.log"

    @property
    def run_dir(self) -> Path:
        """Pid files, Patroni configurations and password files (private to the server user)."""
        return self.directory / "run"

    def save(self) -> None:
        data = asdict(self)
        data["directory"] = str(self.directory)
        tmp = self.directory / f".{STATE_FILE}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, self.directory / STATE_FILE)

    @classmethod
    def load(cls, directory: Path) -> ClusterState:
        path = directory / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ClusterError(f"no cluster at {directory} (run `corestore cluster up`)") from None
        if "etcd" not in data:
            raise ClusterError(
                f"the cluster at {directory} predates Patroni; run `corestore cluster down --purge`"
            )
        return cls(
            directory=Path(data["directory"]),
            topology_toml=data["topology_toml"],
            servers={n: ServerState(**s) for n, s in data["servers"].items()},
            etcd={c: EtcdState(**e) for c, e in data["etcd"].items()},
            credentials=Credentials(**data["credentials"]),
            bindir=data["bindir"],
            os_user=data["os_user"],
            settings=data["settings"],
            added_units=data.get("added_units", {}),
        )


def default_state_dir() -> Path:
    """`$CORESTORE_HOME`, else a per-user folder under the temp dir (reachable by the server user)."""
    import getpass
    import tempfile

    home = os.environ.get("CORESTORE_HOME")
    if home:
        return Path(home)
    return Path(tempfile.gettempdir()) / f"corestore-{getpass.getuser()}"
