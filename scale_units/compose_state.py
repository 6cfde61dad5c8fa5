"""A compose cluster's state, written by the one-shot `config` service from its environment.

Front ends and migrations read it as any `cluster.json`: the servers are the compose
services, by name, on port 5432.  The secrets come from the environment, never from a
constant; the Postgres containers read theirs from `server.env` beside it.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Mapping
from pathlib import Path

import asyncpg

from scale_units.compose import INSECURE_DEFAULTS, PG_PORT, SECRET_VARIABLES
from scale_units.errors import ClusterError
from scale_units.launcher import wait_streaming
from scale_units.loader import load_topology
from scale_units.state import ClusterState, Credentials, ServerState

SERVER_ENV = "server.env"
SERVER_SECRETS = ("superuser", "owner", "app", "replication")
WAIT_TIMEOUT_S = 180.0


def credentials_from(environment: Mapping[str, str]) -> Credentials:
    """Every secret from its variable; a missing one is an error unless throwaway ones are asked for."""
    insecure = environment.get(INSECURE_DEFAULTS) == "1"
    values = {field: environment.get(variable, "") for field, variable in SECRET_VARIABLES.items()}
    missing = [SECRET_VARIABLES[field] for field, value in values.items() if not value]
    if missing and not insecure:
        raise ClusterError(
            f"{', '.join(missing)} not set: give each a secret in the environment or in a .env "
            f"file beside docker-compose.yml ({INSECURE_DEFAULTS}=1 fills throwaway values, "
            "for a cluster on this machine only)"
        )
    return Credentials(**{field: value or f"insecure-{field}" for field, value in values.items()})


def write_state(topology_path: Path, directory: Path, environment: Mapping[str, str]) -> ClusterState:
    credentials = credentials_from(environment)
    topology = load_topology(topology_path)
    state = ClusterState(
        directory=directory,
        topology_toml=topology_path.read_text(),
        servers={s.name: ServerState(PG_PORT, s.role, host=s.name) for s in topology.servers()},
        credentials=credentials,
        bindir="",  # the servers run in their own containers
        os_user=None,
        settings={},
    )
    state.save()
    lines = [f"{SECRET_VARIABLES[f]}={shlex.quote(getattr(credentials, f))}\n" for f in SERVER_SECRETS]
    tmp = directory / f".{SERVER_ENV}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(lines)
    os.replace(tmp, directory / SERVER_ENV)
    return state


async def wait_ready(state: ClusterState, timeout: float = WAIT_TIMEOUT_S) -> None:
    """Until every server accepts connections and every replica streams (podman ignores health)."""
    deadline = time.monotonic() + timeout
    for name in state.servers:
        while True:
            try:
                conn = await asyncpg.connect(state.dsn(name, "superuser", "postgres"), timeout=2)
            except (OSError, asyncpg.PostgresError) as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(f"{name} not reachable after {timeout:.0f}s: {exc}") from None
                await asyncio.sleep(0.5)
                continue
            await conn.close()
            break
    await wait_streaming(state, max(deadline - time.monotonic(), 1.0))
