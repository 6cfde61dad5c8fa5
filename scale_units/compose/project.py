"""A compose file generated from a topology: the same cluster as `cluster up`, in containers.

The same engine too: each server runs Patroni (scope its scale unit) on one etcd per
cloud, configured by `scale_units.local.patroni` as `cluster up` does, so the path to several
machines is this one.  The checked-in docker-compose.yml is this module's output for the
default topology (a test asserts it).  Docker honours the `depends_on` conditions;
podman-compose before podman 4.6 ignores health conditions, so every container also
waits for what it needs itself (`corestore compose member`, `corestore compose ready`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scale_units.model.geography import Cloud
from scale_units.model.topology import Server, Topology

STATE_DIR = "/var/lib/corestore"  # the `state` volume: cluster.json, the front ends' keys
TOPOLOGY_IN_CONTAINER = "/etc/corestore/topology.toml"
IMAGE_TAG = "${CORESTORE_IMAGE_TAG:-local}"  # scripts/compose-smoke builds tags of its own
POSTGRES_IMAGE = f"corestore-postgres:{IMAGE_TAG}"
FRONTEND_IMAGE = f"corestore-frontend:{IMAGE_TAG}"
FIRST_SERVER_PORT = 54321
FIRST_FRONTEND_PORT = 8001
PG_PORT = 5432
API_PORT = 8008  # Patroni's REST API
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
HTTP_PORT = 8000
CA_IN_STATE = f"{STATE_DIR}/tls/ca.pem"  # the config service's CA: front ends serve https under it
FLOW_WIDTH = 100

# Each secret of `scale_units.state.Credentials`, by the variable that supplies it.
SECRET_VARIABLES: Mapping[str, str] = {
    "superuser": "CORESTORE_SUPERUSER_PASSWORD",
    "owner": "CORESTORE_OWNER_PASSWORD",
    "app": "CORESTORE_APP_PASSWORD",
    "replication": "CORESTORE_REPLICATION_PASSWORD",
    "operator": "CORESTORE_OPERATOR_KEY",
    "secret_hash_key": "CORESTORE_SECRET_HASH_KEY",
    "patroni": "CORESTORE_PATRONI_PASSWORD",
}
INSECURE_DEFAULTS = "CORESTORE_INSECURE_DEFAULTS"


def compose_document(topology: Topology, topology_file: str) -> dict[str, Any]:
    """The compose file as data; `topology_file` is mounted into the one-shot `config` service."""
    servers = topology.servers()
    services: dict[str, Any] = {"config": _config(topology_file)}
    for cloud in topology.clouds():
        services[etcd_service(cloud)] = _etcd(cloud)
    for index, server in enumerate(servers):
        services[server.name] = _server(topology, server, FIRST_SERVER_PORT + index)
    services["migrate"] = _migrate(servers)
    for index, region in enumerate(topology.regions):
        services[f"frontend-{region}"] = _frontend(region, FIRST_FRONTEND_PORT + index)
    data = [etcd_service(c) for c in topology.clouds()] + [s.name for s in servers]
    volumes: dict[str, Any] = {"state": {}, **{f"{name}-data": {} for name in data}}
    return {"name": "corestore", "services": services, "volumes": volumes}


def _build(containerfile: str) -> dict[str, Any]:
    # BASE from the environment when set, else the Containerfile's public default.
    return {"context": ".", "dockerfile": f"containers/{containerfile}", "args": ["BASE"]}


def _frontend_image() -> dict[str, Any]:
    return {"image": FRONTEND_IMAGE, "build": _build("frontend.Containerfile")}


def _config(topology_file: str) -> dict[str, Any]:
    environment = {name: f"${{{name}:-}}" for name in SECRET_VARIABLES.values()}
    environment[INSECURE_DEFAULTS] = f"${{{INSECURE_DEFAULTS}:-0}}"
    return {
        **_frontend_image(),
        "command": ["corestore", "compose", "state", "--topology", TOPOLOGY_IN_CONTAINER, "--dir", STATE_DIR],
        "environment": environment,
        "volumes": [f"state:{STATE_DIR}", f"{topology_file}:{TOPOLOGY_IN_CONTAINER}:ro"],
    }


def etcd_service(cloud: Cloud) -> str:
    return f"etcd-{cloud.value}"


def _etcd(cloud: Cloud) -> dict[str, Any]:
    """One single-member etcd per cloud: a sovereign cloud shares nothing with another."""
    name = etcd_service(cloud)
    command = [
        "etcd",
        f"--name={name}",
        "--data-dir=/var/lib/etcd/data",
        f"--listen-client-urls=http://0.0.0.0:{ETCD_CLIENT_PORT}",
        f"--advertise-client-urls=http://{name}:{ETCD_CLIENT_PORT}",
        f"--listen-peer-urls=http://0.0.0.0:{ETCD_PEER_PORT}",
        f"--initial-advertise-peer-urls=http://{name}:{ETCD_PEER_PORT}",
        f"--initial-cluster={name}=http://{name}:{ETCD_PEER_PORT}",
        "--initial-cluster-state=new",
        "--log-level=warn",
    ]
    return {
        **_postgres_image(),
        "command": command,
        "labels": {"corestore.cloud": cloud.value},
        "volumes": [f"{name}-data:/var/lib/etcd"],
        "healthcheck": _healthcheck(_http_probe(ETCD_CLIENT_PORT, "health")),
    }


def _postgres_image() -> dict[str, Any]:
    return {"image": POSTGRES_IMAGE, "build": _build("postgres.Containerfile")}


def _server(topology: Topology, server: Server, port: int) -> dict[str, Any]:
    """A Patroni member; which member leads is Patroni's choice, not the compose file's."""
    unit = topology.scale_units[server.scale_unit]
    return {
        **_postgres_image(),
        "command": ["corestore", "compose", "member", server.name, "--dir", STATE_DIR],
        "labels": {
            "corestore.cloud": unit.cloud.value,
            "corestore.geo": unit.geo.value,
            "corestore.scale_unit": unit.id,
            "corestore.region": server.region,
            "corestore.datacenter": server.datacenter,
        },
        "volumes": [f"{server.name}-data:/var/lib/postgresql", f"state:{STATE_DIR}:ro"],
        "ports": [f"127.0.0.1:{published(server.name, port)}:{PG_PORT}"],
        "shm_size": "128mb",
        "stop_grace_period": "60s",
        "healthcheck": _healthcheck(_http_probe(API_PORT, "health")),
        "depends_on": {
            "config": {"condition": "service_completed_successfully"},
            etcd_service(unit.cloud): {"condition": "service_healthy"},
        },
    }


def _migrate(servers: tuple[Server, ...]) -> dict[str, Any]:
    wait = f"corestore compose ready --dir {STATE_DIR}"
    return {
        **_frontend_image(),
        "command": ["sh", "-c", f"{wait} && corestore migrate --dir {STATE_DIR}"],
        "volumes": [f"state:{STATE_DIR}"],
        "depends_on": {s.name: {"condition": "service_healthy"} for s in servers},
    }


def _frontend(region: str, port: int) -> dict[str, Any]:
    inside = "0.0.0.0"  # noqa: S104 - the container's own interface; published on 127.0.0.1 only
    serve = ["corestore", "serve", "--region", region, "--host", inside, "--port", str(HTTP_PORT)]
    service = f"frontend-{region}"
    public = f"https://127.0.0.1:{published(service, port)}"  # where a client here reaches it, registered
    return {
        **_frontend_image(),
        "command": [*serve, "--public-url", public, "--dir", STATE_DIR],
        "labels": {"corestore.region": region},
        "volumes": [f"state:{STATE_DIR}"],
        "ports": [f"127.0.0.1:{published(service, port)}:{HTTP_PORT}"],
        "restart": "on-failure",
        "healthcheck": _healthcheck(_http_probe(HTTP_PORT, "readyz", tls=True)),
        "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
    }


def port_variable(service: str) -> str:
    """The environment variable that moves a service's published port, when its default is taken."""
    return "CORESTORE_PORT_" + service.upper().replace("-", "_")


def published(service: str, default: int) -> str:
    return f"${{{port_variable(service)}:-{default}}}"


def _http_probe(port: int, path: str, *, tls: bool = False) -> list[str]:
    """Healthy when the path answers 2xx (urlopen raises otherwise); python3 is in both images.
    A front end answers https only, under the config service's CA."""
    if not tls:
        opener = f"urllib.request.urlopen('http://127.0.0.1:{port}/{path}')"
    else:
        context = f"ssl.create_default_context(cafile='{CA_IN_STATE}')"
        opener = f"urllib.request.urlopen('https://127.0.0.1:{port}/{path}', context={context})"
    return ["python3", "-c", f"import ssl, urllib.request; {opener}"]


def _healthcheck(test: list[str]) -> dict[str, Any]:
    return {"test": ["CMD", *test], "interval": "2s", "timeout": "5s", "retries": 30, "start_period": "60s"}


HEADER = """\
# Generated by `corestore compose` from {source}; do not edit:
# `corestore compose > docker-compose.yml` regenerates it, and a test checks it is current.
#
#   scripts/wheelhouse                 # the images install from wheels built here
#   docker compose up -d --build       # config, etcd, Patroni members, migrations, front ends
#   docker compose down -v             # stop and delete every server's data
#
# Secrets come from the environment or a .env file beside this one:
#   {variables}
# A missing one stops the `config` service with an error naming it; {insecure}=1
# fills throwaway values instead, for a cluster on this machine only (every port is
# published on 127.0.0.1).
"""


def render(topology: Topology, topology_file: str, source: str) -> str:
    """The compose file's text: a header saying how it was made, then block-style YAML."""
    header = HEADER.format(
        source=source, variables="\n#   ".join(SECRET_VARIABLES.values()), insecure=INSECURE_DEFAULTS
    )
    return header + "\n" + "\n".join(_yaml(compose_document(topology, topology_file), 0)) + "\n"


def _yaml(value: Any, indent: int) -> list[str]:
    """Block-style YAML whose scalars are JSON (a YAML subset), so any string is quoted safely;
    lists that fit on their key's line stay there."""
    pad = " " * indent
    if not isinstance(value, Mapping):
        return [f"{pad}- {json.dumps(item)}" for item in value]
    lines: list[str] = []
    for key, item in value.items():
        inline = f"{pad}{key}: {json.dumps(item)}"
        if not item or (isinstance(item, list) and len(inline) <= FLOW_WIDTH):
            lines.append(inline)
        elif isinstance(item, Mapping | list):
            lines.append(f"{pad}{key}:")
            lines.extend(_yaml(item, indent + 2))
        else:
            lines.append(inline)
    return lines


def topology_mount(path: Path, compose_dir: Path) -> str:
    """The topology file as the compose file names it: relative to the compose file's folder."""
    path = path.resolve()
    try:
        return "./" + str(path.relative_to(compose_dir.resolve()))
    except ValueError:
        return str(path)
