"""scripts/compose-smoke: the checked-in docker-compose.yml, run for real under podman.

It builds a Debian base image (debootstrap, `podman import`) and both images from the
wheelhouse, brings the default topology up with podman-compose (each server a Patroni
member, one etcd per cloud), waits for health, runs the demo through the compose front
ends, scrapes every front end's /metrics and checks /readyz, moves a tenant between the two
EMEA units (`corestore tenant move` in a front end's container) and reads all of it back from
the other unit through the front ends, stops a replica's container and shows reads carry on from
another server and writes still commit, then runs `down -v`.
Everything it made (containers, network, volumes, image tags, the root file system) is
removed on the way out, failure or not.  Exit status 77 means skipped: the tools are
missing and we are not root.
One module over 300 lines on purpose: one scripted run, read top to bottom, whose clean-up
must see everything it made.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from auth_service.http.deps import SERVER_HEADER
from devtools.client import connect, create_tenant, sign_in, user_body
from scale_units.compose.project import INSECURE_DEFAULTS, SECRET_VARIABLES, port_variable
from scale_units.interrupt import terminate_as_interrupt
from scale_units.ports import free_ports

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
SKIP = 77
TOOLS = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}  # command: Debian package
SUITE = "bookworm"  # its python3 is the 3.11 that scripts/wheelhouse builds for
HEALTH_TIMEOUT_S = 240.0
FAILOVER_READ_TIMEOUT_S = 30.0
MOVE_TIMEOUT_S = 120.0
MOVED_USERS = 5  # beside the administrator: all of them must be read back from the target unit
PASSWORD = "smoke-Passw0rd!"
# No systemd here, and raising limits is refused: runc, and small limits for every container.
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
"""
T = TypeVar("T")


def main() -> int:
    missing = [command for command in TOOLS if shutil.which(command) is None]
    if missing and os.geteuid() != 0:
        print(f"compose-smoke: skipped: {', '.join(missing)} missing and not root to install them")
        return SKIP
    if missing:
        timed("install " + " ".join(missing), lambda: install(missing))
    terminate_as_interrupt()
    run = f"smoke{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="corestore-smoke-") as tmp:
        smoke = Smoke(run, Path(tmp))
        try:
            smoke.run()
        finally:
            timed("cleanup", smoke.cleanup)
            smoke.report()
    return 0


def install(commands: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    packages = [TOOLS[c] for c in commands]
    subprocess.run(
        ["apt-get", "install", "-y", "-q", *packages], check=True, env=env, stdout=subprocess.DEVNULL
    )


TIMES: dict[str, float] = {}


def timed(step: str, work: Callable[[], T]) -> T:
    print(f"compose-smoke: {step} ...", flush=True)
    start = time.monotonic()
    try:
        return work()
    finally:
        TIMES[step] = time.monotonic() - start


class Smoke:
    def __init__(self, run: str, tmp: Path) -> None:
        self.project = f"corestore-{run}"
        self.tag = run
        self.tmp = tmp
        self.state = tmp / "state"  # cluster.json and the CA, copied out of the compose cluster
        self.compose: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
        (tmp / "containers.conf").write_text(CONTAINERS_CONF)
        self.secrets = {variable: secrets.token_urlsafe(24) for variable in SECRET_VARIABLES.values()}
        # Free ports, not the defaults: a developer's or a test's servers may hold those.
        exposed = [name for name, spec in self.compose["services"].items() if "ports" in spec]
        self.ports = dict(zip(exposed, free_ports(len(exposed)), strict=True))
        self.env = {
            **os.environ,
            **self.secrets,
            **{port_variable(name): str(port) for name, port in self.ports.items()},
            "CONTAINERS_CONF": str(tmp / "containers.conf"),
            "CORESTORE_IMAGE_TAG": self.tag,
            INSECURE_DEFAULTS: "0",
        }

    def image(self, name: str) -> str:
        return f"localhost/corestore-{name}:{self.tag}"

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def podman(self, *args: str, check: bool = True, quiet: bool = True) -> subprocess.CompletedProcess[str]:
        """`podman ARGS`; unless `quiet` its output is shown (`podman logs` writes a container's
        stderr to its own), else its errors only when `check` finds it failed."""
        out = subprocess.DEVNULL if quiet else None
        err = subprocess.PIPE if quiet else None
        done = subprocess.run(["podman", *args], env=self.env, text=True, stdout=out, stderr=err)
        if check and done.returncode != 0:
            raise RuntimeError(
                f"podman {args[0]} exited with {done.returncode}: {(done.stderr or '')[-2000:]}"
            )
        return done

    def compose_command(self, *args: str) -> None:
        """podman-compose, its output shown only on failure (podman 4.3 logs noise without systemd)."""
        command = [sys.executable, "-m", "podman_compose", "-p", self.project, "-f", str(COMPOSE_FILE)]
        done = subprocess.run([*command, *args], env=self.env, cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
            raise RuntimeError(f"podman-compose {' '.join(args)} exited with {done.returncode}")

    def run(self) -> None:
        timed("base image (debootstrap, podman import)", self.build_base)
        timed("images", self.build_images)
        timed("compose up", lambda: self.compose_command("up", "-d", "--no-build", "--no-deps"))
        timed("wait for migrations and health", self.wait_healthy)
        timed("demo through the compose front ends", self.demo)
        timed("every front end ready, its /metrics counting the demo", self.scrape)
        timed("move a tenant to the other EMEA unit: nothing lost", self.a_tenant_moves)
        timed("stop a replica: reads and writes carry on", self.a_replica_stops)
        timed("compose down -v", lambda: self.compose_command("down", "-v"))

    def build_base(self) -> None:
        rootfs = self.tmp / "rootfs"
        mirror = os.environ.get("CORESTORE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv",
                SUITE,
                str(rootfs),
                mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["podman", "import", "-", self.image("base")],
            stdin=tar.stdout,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tar.wait()
        shutil.rmtree(rootfs)

    def build_images(self) -> None:
        subprocess.run([str(REPO / "scripts" / "wheelhouse")], check=True)
        for name in ("postgres", "frontend"):
            self.podman(
                "build",
                "--layers=false",
                "--build-arg",
                f"BASE={self.image('base')}",
                "-f",
                f"containers/{name}.Containerfile",
                "-t",
                self.image(name),
                str(REPO),
            )

    def wait_healthy(self) -> None:
        """Migrations exit 0, then every healthcheck passes (podman runs none without systemd)."""
        code = subprocess.run(
            ["podman", "wait", self.container("migrate")],
            env=self.env,
            check=True,
            text=True,
            capture_output=True,
        ).stdout.strip()
        if code != "0":
            # Twice in CI no unit elected a leader in time: the servers' own logs say why.
            for service in self.compose["services"]:
                if service != "migrate":
                    print(f"--- {service} (last lines)", flush=True)
                    self.podman("logs", "--tail", "40", self.container(service), quiet=False, check=False)
            self.podman("logs", self.container("migrate"), quiet=False, check=False)
            raise RuntimeError(f"the migrate service exited with {code}")
        checked = [s for s, spec in self.compose["services"].items() if "healthcheck" in spec]
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        for service in checked:
            while self.podman("healthcheck", "run", self.container(service), check=False).returncode != 0:
                if time.monotonic() > deadline:
                    self.podman("logs", self.container(service), quiet=False, check=False)
                    raise RuntimeError(f"{service} not healthy after {HEALTH_TIMEOUT_S:.0f}s")
                time.sleep(1)

    def url(self, region: str) -> str:
        return f"https://127.0.0.1:{self.ports[f'frontend-{region}']}"

    def demo(self) -> None:
        state = self.state
        state.mkdir()
        for name in ("cluster.json", "tls"):  # the cluster's state, and the CA its front ends serve under
            self.podman(
                "cp", f"{self.container('frontend-westeurope')}:/var/lib/corestore/{name}", str(state)
            )
        urls = [arg for region in ("westeurope", "northeurope") for arg in ("--front-end", self.url(region))]
        corestore = Path(sys.executable).parent / "corestore"
        subprocess.run([str(corestore), "demo", "--dir", str(state), *urls], check=True)

    def scrape(self) -> None:
        """As Prometheus would: the operator's bearer token, the text format parsed; then /readyz."""
        operator = self.secrets[SECRET_VARIABLES["operator"]]
        with connect(self.state) as http:
            for region in ("westeurope", "northeurope"):
                url = self.url(region)
                answer = http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {operator}"})
                answer.raise_for_status()
                answered = sum(
                    s.value
                    for family in text_string_to_metric_families(answer.text)
                    for s in family.samples
                    if s.name == "corestore_http_requests_total"
                )
                ready = http.get(f"{url}/readyz")
                print(f"  {region}: {answered:.0f} requests counted, /readyz {ready.status_code}")
                if not answered or ready.status_code != 200:
                    raise RuntimeError(f"{region}: no requests counted or not ready: {ready.text}")

    def a_tenant_moves(self) -> None:
        """The move runs in a front end's container, where the servers' names resolve (the target
        subscribes to the source by the name the state holds); the tenant's users are then served by
        the other unit through both front ends, every one of them, and a write commits there."""
        west, north = self.url("westeurope"), self.url("northeurope")
        operator = self.secrets[SECRET_VARIABLES["operator"]]
        with connect(self.state) as http:
            tenant = create_tenant(http, west, operator, PASSWORD, country="FR")
            target = "emea-2" if tenant.scale_unit == "emea-1" else "emea-1"  # wherever placement put it
            tokens = sign_in(http, west, tenant.domain, tenant.admin, PASSWORD)
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}
            for number in range(MOVED_USERS):
                made = http.post(
                    f"{west}/v1.0/users", headers=auth, json=user_body(tenant.upn(f"u{number}"), "U")
                )
                made.raise_for_status()
            before = _user_ids(http, west, auth)
            moved = subprocess.run(
                [
                    "podman",
                    "exec",
                    self.container("frontend-westeurope"),
                    "corestore",
                    "tenant",
                    "move",
                    tenant.id,
                    "--to",
                    target,
                    "--json",
                    "--dir",
                    "/var/lib/corestore",
                ],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=MOVE_TIMEOUT_S,
                check=False,
            )
            if moved.returncode != 0:
                output = moved.stdout[-2000:] + moved.stderr[-2000:]
                raise RuntimeError(f"tenant move exited with {moved.returncode}: {output}")
            report = json.loads(moved.stdout.strip().splitlines()[-1])
            rows, seconds, fence = report["rows"], report["seconds"], report["fence_ms"]
            print(
                f"  moved {rows} rows, {report['from']} to {report['to']}, in {seconds} s; fence {fence} ms"
            )
            for url in (north, west):
                after = http.get(f"{url}/v1.0/users", headers=auth)
                served = after.headers.get(SERVER_HEADER, "")
                if after.status_code != 200 or not served.startswith(f"{target}-"):
                    raise RuntimeError(f"after the move, {url} answered {after.status_code} from {served!r}")
                if _user_ids(http, url, auth) != before:
                    raise RuntimeError(f"after the move, {url} lists other users than before it")
                print(f"  GET /v1.0/users: all {len(before)} users, served by {served}")
            created = http.post(
                f"{west}/v1.0/users", headers=auth, json=user_body(tenant.upn("late"), "Late")
            )
            if created.status_code != 201 or not created.headers[SERVER_HEADER].startswith(f"{target}-"):
                raise RuntimeError(
                    f"a write after the move: {created.status_code} from {created.headers.get(SERVER_HEADER)}"
                )
            print(f"  POST /v1.0/users: 201, served by {created.headers[SERVER_HEADER]}")

    def a_replica_stops(self) -> None:
        west, north = self.url("westeurope"), self.url("northeurope")
        operator = self.secrets[SECRET_VARIABLES["operator"]]
        with connect(self.state) as http:
            tenant = create_tenant(http, west, operator, PASSWORD, country="FR")
            tokens = sign_in(http, west, tenant.domain, tenant.admin, PASSWORD)
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}
            before = _me(http, north, auth)
            replica = before.headers[SERVER_HEADER]
            print(f"  GET /v1.0/me via northeurope: {before.status_code}, served by {replica}")
            self.podman("stop", "-t", "10", self.container(replica))
            print(f"  stopped container {self.container(replica)}")
            deadline = time.monotonic() + FAILOVER_READ_TIMEOUT_S
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    after = _me(http, north, auth)
                    if after.status_code == 200 and after.headers.get(SERVER_HEADER) != replica:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"reads did not carry on within {FAILOVER_READ_TIMEOUT_S:.0f}s")
                time.sleep(0.5)
            print(f"  GET /v1.0/me via northeurope: 200, served by {after.headers[SERVER_HEADER]}")
            # The quorum is any one replica: the other one confirms the commit.
            created = http.post(
                f"{west}/v1.0/users",
                headers=auth,
                json=user_body(tenant.upn("bob"), "Bob", PASSWORD),
            )
            if created.status_code != 201:
                raise RuntimeError(
                    f"a write failed with a replica down: {created.status_code} {created.text}"
                )
            print(f"  POST /v1.0/users via westeurope: 201, served by {created.headers[SERVER_HEADER]}")

    def cleanup(self) -> None:
        """`down -v` may not have run, or may have failed: remove by label, then our image tags."""
        label = f"label=io.podman.compose.project={self.project}"
        for kind, listing in (
            ("container", ["ps", "-a"]),
            ("volume", ["volume", "ls"]),
            ("network", ["network", "ls"]),
        ):
            listed = subprocess.run(
                ["podman", *listing, "-q", "--filter", label],
                env=self.env,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.split()
            if listed:
                self.podman(kind, "rm", "-f", *listed, check=False)
        for name in ("frontend", "postgres", "base"):
            self.podman("rmi", "-f", self.image(name), check=False)

    def report(self) -> None:
        for step, seconds in TIMES.items():
            print(f"compose-smoke: {seconds:6.1f} s  {step}")
        print(f"compose-smoke: {sum(TIMES.values()):6.1f} s  in all")


def _me(http: httpx.Client, url: str, auth: Mapping[str, str]) -> httpx.Response:
    return http.get(f"{url}/v1.0/me", headers=auth)


def _user_ids(http: httpx.Client, url: str, auth: Mapping[str, str]) -> set[str]:
    """Every user of the caller's tenant (one page: a smoke tenant has a handful)."""
    listed = http.get(f"{url}/v1.0/users", headers=auth)
    listed.raise_for_status()
    return {user["id"] for user in listed.json()["value"]}


if __name__ == "__main__":
    sys.exit(main())
