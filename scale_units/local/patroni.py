"""Each server's Patroni configuration: scope the scale unit, name the server, etcd of its cloud.

Failover timing (one copy of these facts): a primary that stops renewing its leader
lock loses it after `TTL_S`; replicas look every `LOOP_WAIT_S`, so writes resume
within TTL_S + LOOP_WAIT_S of a primary's death, plus its promotion. 20 s is the
smallest ttl Patroni accepts; loop_wait + 2 * retry_timeout must fit in it.

Failover stays in the region when it can: a member in its unit's primary region has a
higher `failover_priority` than one in another region, so among replicas with the same
WAL position (the quorum ones, after a primary's death) Patroni promotes the one beside
the old primary, and writes do not start paying a cross-region round trip. A replica
that is ahead still wins: no acknowledged commit is given up for locality.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scale_units.local.daemon import private_file
from scale_units.model.topology import NoQuorum, ScaleUnit, Server
from scale_units.model.types import ScaleUnitId
from scale_units.state import SUPERUSER, ClusterState

TTL_S = 20
IN_REGION_PRIORITY = 2  # failover_priority in the unit's primary region; 1 elsewhere (0 = never)
LOOP_WAIT_S = 1
RETRY_TIMEOUT_S = 5
REST_USER = "patroni"
NAMESPACE = "/corestore/"  # each unit's keys in its cloud's etcd: NAMESPACE + unit id + "/"

POSTGRES_PARAMETERS: Mapping[str, str] = {
    "unix_socket_directories": "",
    "wal_level": "logical",  # a tenant's move streams its rows by logical replication
    "max_worker_processes": "16",
    "max_logical_replication_workers": "8",
    "max_wal_senders": "16",
    "max_replication_slots": "16",
    "hot_standby_feedback": "on",
    "wal_log_hints": "on",  # pg_rewind: a former primary rejoins without a fresh copy
    "max_connections": "200",
    "shared_buffers": "64MB",
    "password_encryption": "scram-sha-256",
    "log_min_messages": "warning",
}

PG_HBA = (
    "host replication corestore_repl 127.0.0.1/32 scram-sha-256",
    "host all all 127.0.0.1/32 scram-sha-256",
)


def member_config(state: ClusterState, unit: ScaleUnit, server: Server) -> dict[str, Any]:
    ports = state.servers[server.name]
    etcd = state.etcd[unit.cloud.value]
    creds = state.credentials
    return {
        "scope": unit.id,
        "namespace": NAMESPACE,
        "name": server.name,
        "log": {"level": "WARNING"},
        "restapi": {
            "listen": f"127.0.0.1:{ports.api_port}",
            "connect_address": f"127.0.0.1:{ports.api_port}",
            "authentication": {"username": REST_USER, "password": creds.patroni},
        },
        "etcd3": {"hosts": [f"127.0.0.1:{etcd.client_port}"], "protocol": "http"},
        "bootstrap": {"dcs": _dcs(state, unit), "initdb": ["encoding=UTF8", "locale=C", "no-sync"]},
        "postgresql": {
            "listen": f"127.0.0.1:{ports.port}",
            # Replicas stream from the leader's connect_address: its WAN proxy, if any.
            "connect_address": f"127.0.0.1:{ports.advertised_port}",
            "data_dir": str(state.data_dir(server.name)),
            "bin_dir": state.bindir,
            "pgpass": str(state.run_dir / f"{server.name}.pgpass"),
            "authentication": {
                "superuser": {"username": SUPERUSER, "password": creds.superuser},
                "replication": {"username": "corestore_repl", "password": creds.replication},
            },
            "pg_hba": list(PG_HBA),
            "basebackup": [{"checkpoint": "fast"}],
            "remove_data_directory_on_rewind_failure": True,
            "remove_data_directory_on_diverged_timelines": True,
        },
        "tags": {
            "region": server.region,
            "datacenter": server.datacenter,
            "failover_priority": IN_REGION_PRIORITY if server.region == unit.primary.region else 1,
            "noloadbalance": False,
            "clonefrom": False,
            "nosync": False,
        },
    }


def _dcs(state: ClusterState, unit: ScaleUnit) -> dict[str, Any]:
    """The unit's shared settings, written to etcd once by whichever member bootstraps."""
    return {
        "ttl": TTL_S,
        "loop_wait": LOOP_WAIT_S,
        "retry_timeout": RETRY_TIMEOUT_S,
        "maximum_lag_on_failover": 1024 * 1024,
        # Commits wait for any one replica; each stands in a datacenter of its own.
        "synchronous_mode": "quorum",
        "synchronous_node_count": 1,
        "synchronous_mode_strict": unit.no_quorum is NoQuorum.WAIT,
        # etcd down: the primary stays while it can reach every member (no split brain).
        "failsafe_mode": True,
        # A tenant move's slot (corestore.moves) is not Patroni's to drop.
        "ignore_slots": [{"type": "logical", "plugin": "pgoutput"}],
        "postgresql": {
            "use_pg_rewind": True,
            "use_slots": True,
            "parameters": {**POSTGRES_PARAMETERS, **state.settings},
        },
    }


def dcs_prefix(unit: ScaleUnitId) -> str:
    """Where Patroni keeps the unit's keys (leader lock, configuration) in its cloud's etcd."""
    return f"{NAMESPACE}{unit}/"


def write_config(state: ClusterState, unit: ScaleUnit, server: Server) -> None:
    """JSON is YAML: Patroni reads it as its configuration file."""
    text = json.dumps(member_config(state, unit, server), indent=2)
    private_file(state.run_dir / f"{server.name}.yml", text, state.os_user)
