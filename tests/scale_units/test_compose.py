"""docker-compose.yml describes the default topology's cluster: same servers, regions, roles.

The compose file is written by hand for machines with Docker; these tests keep it from
drifting from `tests/topologies/compose.toml`.  No Docker engine is needed: the
file is parsed, and the scripts it mounts into the containers are read.  Every
expectation comes from the loaded topology, none is written here.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from scale_units.loader import load_topology
from scale_units.state import CATALOG_DB, DIRECTORY_DB
from scale_units.topology import Role, Server, Topology

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
# Until the compose file runs Patroni (its own issue), it describes the pre-Patroni default.
COMPOSE_TOPOLOGY = REPO / "tests" / "topologies" / "compose.toml"
SCRIPTS = sorted((REPO / "scale_units" / "docker").glob("*.sh"))

POSTGRES_IMAGE = "postgres:18"
FRONTEND_BASE_IMAGE = "python:3.11-slim"
DATA_MOUNT = "/var/lib/postgresql"  # the postgres:18 image's VOLUME (PGDATA lives below it)
INITDB_DIR = "/docker-entrypoint-initdb.d"
FRONTEND_PREFIX = "frontend-"
LOOPBACK = "127.0.0.1"
LABELS = ("corestore.scale_unit", "corestore.region", "corestore.role", "corestore.cloud", "corestore.geo")
SUBSTITUTED = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?-[^}]*)?\}$")

Compose = dict[str, Any]
Service = dict[str, Any]
Mutation = Callable[[Compose, Topology], str]


# --- reading the compose file ------------------------------------------------------


def _plain(value: Any) -> Any:
    """A tree of fresh dicts and lists: YAML anchors share objects between services."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_compose(path: Path = COMPOSE_FILE) -> Compose:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    plain: Compose = _plain(data)
    return plain


def services(compose: Compose) -> dict[str, Service]:
    found = compose.get("services") or {}
    return {name: spec or {} for name, spec in found.items()}


def server_services(compose: Compose) -> dict[str, Service]:
    """The PostgreSQL services: a postgres image, or a `corestore.role` label."""
    return {
        name: spec
        for name, spec in services(compose).items()
        if str(spec.get("image", "")).startswith("postgres") or "corestore.role" in labels(spec)
    }


def frontend_services(compose: Compose) -> dict[str, Service]:
    return {n: s for n, s in services(compose).items() if n.startswith(FRONTEND_PREFIX)}


def _pairs(value: Any) -> dict[str, str]:
    """Compose's mapping or `KEY=value` list forms, as one mapping."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for item in value or []:
        key, _, val = str(item).partition("=")
        out[key] = val
    return out


def labels(service: Service) -> dict[str, str]:
    return _pairs(service.get("labels"))


def environment(service: Service) -> dict[str, str]:
    return _pairs(service.get("environment"))


def argv(value: Any) -> list[str]:
    """A `command`/`entrypoint`/healthcheck `test`: compose splits a string like a shell."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def server_settings(service: Service) -> dict[str, str]:
    """The `-c name=value` settings of a `postgres ...` command."""
    args = argv(service.get("command"))
    pairs = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-c"]
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def mounts(service: Service) -> dict[str, str]:
    """Container path -> source (a named volume, or a host path as written)."""
    out: dict[str, str] = {}
    for item in service.get("volumes") or []:
        if isinstance(item, dict):
            out[str(item.get("target"))] = str(item.get("source"))
        else:
            parts = str(item).split(":")
            if len(parts) >= 2:
                out[parts[1]] = parts[0]
    return out


def host_file(source: str) -> Path | None:
    """A bind mount's host file (relative to the compose file); None for a named volume."""
    if not source.startswith((".", "/")):
        return None
    return (COMPOSE_FILE.parent / source).resolve()


def depends_on(service: Service) -> dict[str, str]:
    """Service -> the condition it waits for (`service_started` for the list form)."""
    value = service.get("depends_on") or {}
    if isinstance(value, list):
        return {str(name): "service_started" for name in value}
    return {str(n): str((c or {}).get("condition", "service_started")) for n, c in value.items()}


def mounted_script(service: Service, container_path: str) -> str | None:
    source = mounts(service).get(container_path)
    path = host_file(source) if source else None
    return path.read_text() if path is not None and path.is_file() else None


def required_variables(script: str) -> set[str]:
    """The CORESTORE_* variables a script refuses to run without (`${NAME:?...}`)."""
    return set(re.findall(r"\$\{(CORESTORE_[A-Z0-9_]+):\?", script))


def basebackup_argv(script: str, env: Mapping[str, str]) -> list[str]:
    """The script's pg_basebackup command as a service runs it: its environment filled in."""
    match = re.search(r"^[ \t]*pg_basebackup\b(?:.*\\\n)*.*$", script, re.MULTILINE)
    if match is None:
        return []
    text = match.group(0).replace("\\\n", " ")
    filled = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), m.group(0)), text)
    return shlex.split(filled)


def option(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args[:-1] else None


def expected_labels(topology: Topology, server: Server) -> dict[str, str]:
    unit = topology.scale_units[server.scale_unit]
    return {
        "corestore.scale_unit": unit.id,
        "corestore.region": server.region,
        "corestore.role": server.role.value,
        "corestore.cloud": unit.cloud.value,
        "corestore.geo": unit.geo.value,
    }


def expected_databases(topology: Topology, server: Server) -> set[str]:
    is_catalog = server.scale_unit in topology.catalogs.values()
    return {DIRECTORY_DB, CATALOG_DB} if is_catalog else {DIRECTORY_DB}


def replication_slot(server: Server) -> str:
    """As `ServerProcess.slot`: the server's name with '-' as '_'."""
    return server.name.replace("-", "_")


# --- comparing it with the topology: each returns what disagrees, as messages ------


def server_set_drift(compose: Compose, topology: Topology) -> list[str]:
    wanted = {s.name for s in topology.servers()}
    found = set(server_services(compose))
    return [f"server {n} of the topology has no service" for n in sorted(wanted - found)] + [
        f"service {n} is not a server of the topology" for n in sorted(found - wanted)
    ]


def label_drift(compose: Compose, topology: Topology) -> list[str]:
    found = server_services(compose)
    problems = []
    for server in topology.servers():
        if server.name not in found:
            continue
        have = {k: v for k, v in labels(found[server.name]).items() if k in LABELS}
        want = expected_labels(topology, server)
        for key in LABELS:
            if have.get(key) != want[key]:
                problems.append(
                    f"{server.name}: label {key} is {have.get(key)!r}, topology says {want[key]!r}"
                )
    return problems


def storage_drift(compose: Compose, topology: Topology) -> list[str]:
    """Each server on the postgres:18 image with its own named data volume."""
    found = server_services(compose)
    declared = set(compose.get("volumes") or {})
    owners: dict[str, str] = {}
    problems = []
    for server in topology.servers():
        service = found.get(server.name)
        if service is None:
            continue
        if service.get("image") != POSTGRES_IMAGE:
            problems.append(f"{server.name}: image is {service.get('image')!r}, not {POSTGRES_IMAGE}")
        volume = mounts(service).get(DATA_MOUNT)
        if volume is None or host_file(volume) is not None or volume not in declared:
            problems.append(f"{server.name}: no declared named volume at {DATA_MOUNT} (has {volume!r})")
        elif volume in owners:
            problems.append(f"{server.name}: shares data volume {volume} with {owners[volume]}")
        else:
            owners[volume] = server.name
    return problems


def primary_drift(compose: Compose, topology: Topology) -> list[str]:
    """Primaries: the init script mounted, with their databases; WAL for replicas; healthy over TCP."""
    found = server_services(compose)
    problems = []
    for unit in topology.scale_units.values():
        server = unit.primary
        service = found.get(server.name)
        if service is None:
            continue
        init = [t for t in mounts(service) if t.startswith(INITDB_DIR + "/")]
        script = mounted_script(service, init[0]) if init else None
        env = environment(service)
        if script is None:
            problems.append(f"{server.name}: no init script from the repository in {INITDB_DIR}")
        else:
            missing = required_variables(script) - set(env)
            if missing:
                problems.append(f"{server.name}: init script needs {sorted(missing)}, not set")
        databases = set(env.get("CORESTORE_DATABASES", "").split())
        wanted = expected_databases(topology, server)
        if databases != wanted:
            catalogs = ", ".join(f"{cloud.value}: {unit_id}" for cloud, unit_id in topology.catalogs.items())
            problems.append(
                f"{server.name}: creates databases {sorted(databases)}, topology says {sorted(wanted)} "
                f"(catalogs {catalogs})"
            )
        if server_settings(service).get("wal_level") != "replica":
            problems.append(f"{server.name}: wal_level is not replica; its replicas cannot stream")
        check = argv((service.get("healthcheck") or {}).get("test"))
        if "pg_isready" not in check or "-h" not in check:
            problems.append(f"{server.name}: healthcheck is not pg_isready over TCP (-h): {check}")
    return problems


def replica_drift(compose: Compose, topology: Topology) -> list[str]:
    """Replicas wait for, and clone, their own scale unit's primary, into their own slot."""
    found = server_services(compose)
    problems = []
    for unit in topology.scale_units.values():
        primary = unit.primary
        for server in unit.replicas:
            service = found.get(server.name)
            if service is None:
                continue
            name = server.name
            if depends_on(service).get(primary.name) != "service_healthy":
                problems.append(f"{name}: does not wait for its primary {primary.name} to be healthy")
            if service.get("user") != "postgres":
                problems.append(f"{name}: does not run as the image's postgres user")
            entry = argv(service.get("entrypoint"))
            scripts = [t for t in mounts(service) if t in entry]
            script = mounted_script(service, scripts[0]) if scripts else None
            if script is None:
                problems.append(f"{name}: its entrypoint is no script mounted from the repository")
                continue
            env = environment(service)
            missing = required_variables(script) - set(env)
            if missing:
                problems.append(f"{name}: replica entrypoint needs {sorted(missing)}, not set")
            args = basebackup_argv(script, env)
            application_name = re.findall(r"application_name=(\S+)", option(args, "-d") or "")
            clone = {
                "host (-h)": (option(args, "-h"), primary.name),
                "user (-U)": (option(args, "-U"), "corestore_repl"),
                "slot (-S)": (option(args, "-S"), replication_slot(server)),
                "application_name": (application_name[0] if application_name else None, name),
                "WAL (-X)": (option(args, "-X"), "stream"),
            }
            for what, (have, want) in clone.items():
                if have != want:
                    problems.append(f"{name}: pg_basebackup {what} is {have!r}, should be {want!r}")
            for flag in ("-C", "-R"):
                if flag not in args:
                    problems.append(f"{name}: pg_basebackup without {flag}: {args}")
            if primary.name in found:
                # A hot standby refuses to start below its primary's max_connections & co.
                mine = _shared_settings(service)
                theirs = _shared_settings(found[primary.name])
                if mine != theirs:
                    problems.append(f"{name}: settings {mine} differ from its primary's {theirs}")
    return problems


def _shared_settings(service: Service) -> dict[str, str]:
    return {k: v for k, v in server_settings(service).items() if k != "cluster_name"}


def frontend_drift(compose: Compose, topology: Topology) -> list[str]:
    """One `corestore serve --region R` per region, on the repository's python image."""
    found = frontend_services(compose)
    wanted = {FRONTEND_PREFIX + region: region for region in topology.regions}
    problems = [f"region {r} has no front end {n}" for n, r in sorted(wanted.items()) if n not in found]
    problems += [f"front end {n} is for no region of the topology" for n in sorted(set(found) - set(wanted))]
    for name, region in sorted(wanted.items()):
        service = found.get(name)
        if service is None:
            continue
        if labels(service).get("corestore.region") != region:
            problems.append(f"{name}: label corestore.region is {labels(service).get('corestore.region')!r}")
        args = argv(service.get("command"))
        if "serve" not in args or option(args, "--region") != region:
            problems.append(f"{name}: command {args} is not `corestore serve --region {region}`")
        waits = {n for n, c in depends_on(service).items() if c == "service_healthy"}
        if not {s.name for s in topology.servers()} <= waits:
            problems.append(f"{name}: does not wait for every server to be healthy")
        problems += _build_drift(name, service)
    return problems


def _build_drift(name: str, service: Service) -> list[str]:
    build = service.get("build")
    if isinstance(build, str):
        build = {"context": build}
    if not isinstance(build, dict):
        return [f"{name}: not built from the repository"]
    context = (COMPOSE_FILE.parent / str(build.get("context", "."))).resolve()
    dockerfile = context / str(build.get("dockerfile", "Dockerfile"))
    if context != REPO or not dockerfile.is_file():
        return [f"{name}: build context {context} / {dockerfile.name} is not the repository's"]
    text = dockerfile.read_text()
    base = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    problems = []
    if base[:1] != [FRONTEND_BASE_IMAGE]:
        problems.append(f"{name}: {dockerfile.name} is based on {base}, not {FRONTEND_BASE_IMAGE}")
    if not re.search(r"pip install\b.*\s\.(\s|$)", text):
        problems.append(f"{name}: {dockerfile.name} does not pip install the repository")
    return problems


def exposure_drift(compose: Compose, topology: Topology) -> list[str]:
    """Ports only on loopback, each once; passwords only by substitution, never literal."""
    problems = []
    seen: dict[str, str] = {}
    for name, service in services(compose).items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                host_ip, published = str(port.get("host_ip", "")), str(port.get("published", ""))
            else:
                host_ip, _, rest = str(port).partition(":")
                published = rest.partition(":")[0]
            if host_ip != LOOPBACK or not published:
                problems.append(f"{name}: port {port!r} is not published on {LOOPBACK} only")
            elif published in seen:
                problems.append(f"{name}: host port {published} is also {seen[published]}'s")
            else:
                seen[published] = name
        for key, value in environment(service).items():
            if "PASSWORD" in key and not SUBSTITUTED.match(value):
                problems.append(f"{name}: {key} is written in the file, not ${{{key}:-...}}")
    return problems


CHECKS = (
    server_set_drift,
    label_drift,
    storage_drift,
    primary_drift,
    replica_drift,
    frontend_drift,
    exposure_drift,
)


def drift(compose: Compose, topology: Topology) -> list[str]:
    """Every way the compose file disagrees with the topology (empty: none)."""
    return [problem for check in CHECKS for problem in check(compose, topology)]


# --- the tests -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load_topology(COMPOSE_TOPOLOGY)


@pytest.fixture
def compose() -> Compose:
    return load_compose()


def test_one_postgres_service_per_server_of_the_default_topology(
    compose: Compose, topology: Topology
) -> None:
    assert server_set_drift(compose, topology) == []
    assert storage_drift(compose, topology) == []


def test_server_labels_name_scale_unit_region_role_cloud_and_geo(
    compose: Compose, topology: Topology
) -> None:
    assert label_drift(compose, topology) == []


def test_primaries_initialise_their_databases_catalog_only_where_topology_says(
    compose: Compose, topology: Topology
) -> None:
    assert primary_drift(compose, topology) == []


def test_replicas_clone_their_own_primary_into_their_own_slot(compose: Compose, topology: Topology) -> None:
    assert replica_drift(compose, topology) == []


def test_one_frontend_per_region(compose: Compose, topology: Topology) -> None:
    assert frontend_drift(compose, topology) == []


def test_ports_on_loopback_and_passwords_not_in_the_file(compose: Compose, topology: Topology) -> None:
    assert exposure_drift(compose, topology) == []


def test_init_script_creates_the_three_roles_as_the_launcher_does() -> None:
    script = (REPO / "scale_units" / "docker" / "init-primary.sh").read_text()
    roles = {
        name: set(re.sub(r"PASSWORD\s+\S+", "", attrs).split())
        for name, attrs in re.findall(r"CREATE ROLE (\w+)([^;]*);", script)
    }
    assert set(roles) == {"corestore_owner", "corestore_app", "corestore_repl"}
    assert all("LOGIN" in attrs for attrs in roles.values())
    assert {"NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE", "NOBYPASSRLS", "NOREPLICATION"} <= roles[
        "corestore_app"
    ]
    assert "REPLICATION" in roles["corestore_repl"]
    assert "OWNER corestore_owner" in script
    assert re.search(r"GRANT CONNECT ON DATABASE \S+ TO corestore_app", script)
    hba = [line.split() for line in script.splitlines() if re.match(r"(local|host)\s", line)]
    assert hba, "init script writes no pg_hba.conf rules"
    assert all(rule[-1] == "scram-sha-256" for rule in hba), hba
    assert ["host", "replication", "corestore_repl", "all", "scram-sha-256"] in hba


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_valid_bash_without_passwords(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "change-me" not in script.read_text()


def test_the_scripts_the_compose_file_mounts_exist() -> None:
    assert {p.name for p in SCRIPTS} >= {"init-primary.sh", "replica-entrypoint.sh"}


# --- the comparison can fail: each edit of a loaded copy is reported ---------------


def _first_replica(topology: Topology) -> Server:
    return next(s for s in topology.servers() if s.role is Role.REPLICA)


def _drop_replica(compose: Compose, topology: Topology) -> str:
    name = _first_replica(topology).name
    del compose["services"][name]
    return name


def _relabel_region(compose: Compose, topology: Topology) -> str:
    server = topology.servers()[0]
    other = next(r for r in topology.regions if r != server.region)
    compose["services"][server.name]["labels"]["corestore.region"] = other
    return f"{server.name}: label corestore.region"


def _follow_other_primary(compose: Compose, topology: Topology) -> str:
    replica = _first_replica(topology)
    other = next(u for u in topology.scale_units.values() if u.id != replica.scale_unit)
    compose["services"][replica.name]["environment"]["CORESTORE_PRIMARY_HOST"] = other.primary.name
    return f"{replica.name}: pg_basebackup host"


def _reuse_slot(compose: Compose, topology: Topology) -> str:
    replica = _first_replica(topology)
    primary = topology.scale_units[replica.scale_unit].primary
    compose["services"][replica.name]["environment"]["CORESTORE_REPLICATION_SLOT"] = replication_slot(primary)
    return f"{replica.name}: pg_basebackup slot"


def _no_catalog(compose: Compose, topology: Topology) -> str:
    primary = next(iter(topology.catalogs.values()))
    name = topology.scale_units[primary].primary.name
    compose["services"][name]["environment"]["CORESTORE_DATABASES"] = DIRECTORY_DB
    return f"{name}: creates databases"


def _drop_frontend(compose: Compose, topology: Topology) -> str:
    name = FRONTEND_PREFIX + next(iter(topology.regions))
    del compose["services"][name]
    return name


def _publish_everywhere(compose: Compose, topology: Topology) -> str:
    name = topology.servers()[0].name
    compose["services"][name]["ports"] = ["54321:5432"]
    return f"{name}: port"


def _literal_password(compose: Compose, topology: Topology) -> str:
    name = _first_replica(topology).name
    compose["services"][name]["environment"]["CORESTORE_REPL_PASSWORD"] = "hunter2"
    return f"{name}: CORESTORE_REPL_PASSWORD"


MUTATIONS: list[Mutation] = [
    _drop_replica,
    _relabel_region,
    _follow_other_primary,
    _reuse_slot,
    _no_catalog,
    _drop_frontend,
    _publish_everywhere,
    _literal_password,
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda m: m.__name__.strip("_"))
def test_drift_is_reported(compose: Compose, topology: Topology, mutate: Mutation) -> None:
    assert drift(compose, topology) == []
    expected = mutate(compose, topology)
    problems = drift(compose, topology)
    assert any(expected in p for p in problems), problems
