"""The composition root: the `corestore` command, where the layers are wired together.

Every layer's commands are registered here, and the steps that span layers are
spelled out here: `cluster up` starts the servers (scale_units), then migrates
them (corestore); `serve` builds the store, the front end and the app.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from auth_service.app import create_app
from auth_service.bootstrap import bootstrap
from auth_service.errors import AuthError
from auth_service.frontend import FrontEndConfig
from auth_service.http.access_log import LogFormat, configure
from auth_service.http.throttle import Limits
from auth_service.keys.ring import KeyRing
from auth_service.keys.store import KeyStore
from auth_service.oauth.sign_in_writer import INTERVAL_S as SIGN_IN_FLUSH_S
from corestore.cli import migrate_command, migrate_state, tenant_app
from corestore.moves.cli import drain_command, move_command
from corestore.residency.cli import audit_app, residency_app
from corestore.roles import dsn
from devtools.demo import run_demo
from scale_units import cli as cluster_cli
from scale_units.cli import DEFAULT_DIR, DirOption, cli_errors, render_table
from scale_units.compose.cli import compose_app
from scale_units.local import grow, launcher
from scale_units.local.binaries import DEFAULT_SOURCE
from scale_units.local.grow import UnitRequest
from scale_units.local.tls import server_certificate
from scale_units.model.geography import Cloud
from scale_units.progress import Progress
from scale_units.registry import log_path

app = typer.Typer(
    help="Core Store: a multi-tenant directory on a local multi-region PostgreSQL cluster.",
    no_args_is_help=True,
)
app.add_typer(cluster_cli.cluster_app, name="cluster")
app.add_typer(tenant_app, name="tenant")
app.add_typer(audit_app, name="audit")
app.add_typer(residency_app, name="residency")
app.add_typer(compose_app, name="compose")
app.command("migrate")(migrate_command)
app.command("failover")(cluster_cli.failover_command)
tenant_app.command("move")(move_command)
cluster_cli.cluster_app.command("drain")(drain_command)


@cluster_cli.cluster_app.command("status")
def status_command(directory: DirOption = DEFAULT_DIR, as_json: cluster_cli.StatusOption = False) -> None:
    """Each server: cloud, geo, region, role, port, alive, replay lag."""
    cluster_cli.show_status(
        directory,
        as_json,
        lambda state, server: {"dsn": {r: dsn(state, server, r) for r in ("owner", "app")}},
    )


@cluster_cli.cluster_app.command("up")
def up_command(
    topology: cluster_cli.TopologyOption = cluster_cli.DEFAULT_TOPOLOGY,
    directory: DirOption = DEFAULT_DIR,
    binaries: cluster_cli.BinariesOption = DEFAULT_SOURCE,
    wan: Annotated[
        bool, typer.Option("--wan", help="Cross-region connections through delaying proxies.")
    ] = False,
) -> None:
    """Start every scale unit's servers (or reuse a running cluster), then apply the migrations."""
    with cli_errors(), closing(Progress()) as progress:
        state = launcher.up(topology, directory, binaries, wan=wan, report=progress)
        progress("migrations: every primary and catalog")
        migrate_state(state)
    typer.echo(f"cluster up: {len(state.servers)} servers, state in {directory}")


@cluster_cli.cluster_app.command("add-unit")
def add_unit_command(
    unit: Annotated[str, typer.Argument(help="The new scale unit's name, e.g. emea-2.")],
    geo: Annotated[str, typer.Option(help="An existing geo of the cluster.")],
    primary: Annotated[
        str | None, typer.Option(help="The primary's region (default: the geo's first).")
    ] = None,
    replicas: Annotated[
        str | None, typer.Option(help="Replica regions, comma-separated (default: the geo's regions).")
    ] = None,
    capacity: Annotated[int, typer.Option(help="How many tenants it takes.")] = UnitRequest.capacity,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Grow the running cluster by one scale unit: its servers start under Patroni, migrations
    run, the catalog learns it; running front ends and stores pick it up on their own."""
    started = time.monotonic()
    parsed = None if replicas is None else tuple(r.strip() for r in replicas.split(",") if r.strip())
    with cli_errors(), closing(Progress()) as progress:
        state = grow.add_unit(directory, UnitRequest(unit, geo, primary, parsed, capacity), progress)
        progress(f"migrations: {unit}'s databases and the catalog")
        migrate_state(state)
    servers = len(state.planned_topology.scale_units[unit].servers)
    typer.echo(f"{unit}: {servers} servers streaming, in the catalog ({time.monotonic() - started:.1f} s)")


@app.command("serve")
def serve_command(
    region: Annotated[str, typer.Option(help="The region this instance runs in.")],
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option(help="Listen address (0.0.0.0 inside a container).")] = "127.0.0.1",
    requests_per_second: Annotated[float, typer.Option(help="Per application and tenant.")] = 200.0,
    request_burst: Annotated[int, typer.Option()] = 400,
    writes_per_second: Annotated[float, typer.Option(help="Per tenant.")] = 50.0,
    write_burst: Annotated[int, typer.Option()] = 100,
    sign_in_flush_ms: Annotated[
        int, typer.Option(min=1, help="How often queued sign-in log rows are committed.")
    ] = round(SIGN_IN_FLUSH_S * 1000),
    public_url: Annotated[
        str | None, typer.Option(help="Where clients reach it (default https://HOST:PORT); registered.")
    ] = None,
    tls: Annotated[
        bool, typer.Option(help="https with the cluster's certificate; --no-tls only behind a TLS proxy.")
    ] = True,
    log_format: Annotated[
        LogFormat, typer.Option(help="Log lines as readable text or one JSON object each.")
    ] = LogFormat.TEXT,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Run one stateless front end against the running local cluster."""
    # uvicorn, not granian: granian 2.8 (embedded server, uvloop) serving the ASGI baseline
    # measured 5.7-6.1k requests per server CPU-second against uvicorn's 5.5-5.8k on the same
    # shared 2-core machine (bench asgi-read, two runs each): within the noise, so one server stack.
    with cli_errors():
        limits = Limits(requests_per_second, request_burst, writes_per_second, write_burst)
        url = public_url or f"{'https' if tls else 'http'}://{host}:{port}"
        config = FrontEndConfig(region, directory, limits, sign_in_flush_s=sign_in_flush_ms / 1000, url=url)
        frontend = bootstrap(config)
        certificate = server_certificate(directory, frontend.region) if tls else None
    configure(log_path(directory, region, port), log_format)
    uvicorn.run(
        create_app(frontend),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        log_config=None,
        ssl_certfile=certificate.certfile if certificate else None,
        ssl_keyfile=certificate.keyfile if certificate else None,
    )


@app.command("demo")
def demo_command(
    directory: DirOption = DEFAULT_DIR,
    front_end: Annotated[
        list[str] | None, typer.Option(help="A running front end: westeurope's, then northeurope's.")
    ] = None,
) -> None:
    """Start two front ends (two regions), create a tenant, sign in, write, read your write elsewhere."""
    with cli_errors():
        run_demo(directory, front_end or ())


keys_app = typer.Typer(help="Token signing keys, per cloud: publish, activate, retire.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
CloudOption = Annotated[Cloud, typer.Option(help="Each cloud has its own keys and issuer.")]
# An option, not an argument: a kid (a base64url thumbprint) may start with "-".
KidOption = Annotated[str, typer.Option("--kid", help="The key id, as `keys list` shows it.")]


def _ring(directory: Path, cloud: Cloud) -> KeyRing:
    return KeyStore(directory / "keys").ring(cloud)


@keys_app.command("list")
def keys_list(cloud: CloudOption = Cloud.PUBLIC, directory: DirOption = DEFAULT_DIR) -> None:
    """Every key of the cloud's ring and its state."""
    rows = [(k.kid, k.algorithm.value, k.state.value) for k in _ring(directory, cloud).keys]
    typer.echo(render_table(("KID", "ALG", "STATE"), rows))


@keys_app.command("rotate")
def keys_rotate(cloud: CloudOption = Cloud.PUBLIC, directory: DirOption = DEFAULT_DIR) -> None:
    """Publish a new key: it verifies at once, and signs only once activated."""
    typer.echo(_ring(directory, cloud).rotate().kid)


@keys_app.command("activate")
def keys_activate(
    kid: KidOption, cloud: CloudOption = Cloud.PUBLIC, directory: DirOption = DEFAULT_DIR
) -> None:
    """Make a published key the signer; the previous signer keeps verifying until retired."""
    with auth_errors():
        _ring(directory, cloud).activate(kid)
    typer.echo(f"{kid} signs")


@keys_app.command("retire")
def keys_retire(
    kid: KidOption, cloud: CloudOption = Cloud.PUBLIC, directory: DirOption = DEFAULT_DIR
) -> None:
    """Stop trusting a key: tokens it signed are refused from now on."""
    with auth_errors():
        _ring(directory, cloud).retire(kid)
    typer.echo(f"{kid} retired")


@contextmanager
def auth_errors() -> Iterator[None]:
    try:
        yield
    except (AuthError, ValueError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
