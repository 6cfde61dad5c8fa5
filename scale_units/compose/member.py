"""A Patroni member inside its container: the configuration of `cluster up`, at compose addresses.

`scale_units.local.patroni.member_config` stays the one copy of the settings (scope, ttl, quorum,
tags, parameters); only where things are changes: listen on the container's interfaces,
advertise the service's name, etcd as its cloud's service, data in the server's volume.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from scale_units.compose.project import API_PORT, ETCD_CLIENT_PORT, PG_PORT, etcd_service
from scale_units.errors import ClusterError
from scale_units.local.patroni import member_config
from scale_units.model.types import ServerName
from scale_units.state import STATE_FILE, ClusterState

DATA_DIR = "/var/lib/postgresql/data"
CONFIG_FILE = Path("/tmp/patroni.yml")  # noqa: S108 - the container's own /tmp, mode 0600
STATE_TIMEOUT_S = 120.0
ANYWHERE = "0.0.0.0"  # noqa: S104 - the container's interfaces; only Postgres is published, on 127.0.0.1
# Compose networks are private to the project; every role still authenticates with SCRAM.
PG_HBA = ("host replication corestore_repl all scram-sha-256", "host all all all scram-sha-256")


def container_config(state: ClusterState, name: ServerName) -> dict[str, Any]:
    topology = state.planned_topology
    server = topology.server(name)
    unit = topology.scale_units[server.scale_unit]
    config = member_config(state, unit, server)
    config["restapi"].update(listen=f"{ANYWHERE}:{API_PORT}", connect_address=f"{name}:{API_PORT}")
    config["etcd3"]["hosts"] = [f"{etcd_service(unit.cloud)}:{ETCD_CLIENT_PORT}"]
    config["postgresql"].update(
        listen=f"{ANYWHERE}:{PG_PORT}",
        connect_address=f"{name}:{PG_PORT}",
        data_dir=DATA_DIR,
        pgpass="/tmp/pgpass",  # noqa: S108 - as above
        pg_hba=list(PG_HBA),
    )
    return config


def run_member(directory: Path, name: ServerName) -> None:
    """Wait for the config service's state, write the configuration, become Patroni."""
    deadline = time.monotonic() + STATE_TIMEOUT_S
    while not (directory / STATE_FILE).exists():
        if time.monotonic() > deadline:
            raise ClusterError(f"no {directory / STATE_FILE}: the config service failed (see its log)")
        time.sleep(0.5)
    config = container_config(ClusterState.load(directory), name)
    fd = os.open(CONFIG_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(config, f)
    # Patroni becomes the container's main process: it gets the stop signal.
    os.execv(sys.executable, [sys.executable, "-m", "patroni", str(CONFIG_FILE)])  # noqa: S606
