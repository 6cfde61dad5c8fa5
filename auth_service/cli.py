"""The `corestore` command: the one place where the layers' commands are wired together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from auth_service.errors import AuthError
from auth_service.keyfile import KeyStore
from auth_service.keys import KeyRing
from corestore.cli import audit_app, migrate_command, migrate_state, tenant_app
from scale_units import cli as cluster_cli
from scale_units.cli import DEFAULT_DIR, DirOption, cli_errors, render_table
from scale_units.compose_cli import compose_app
from scale_units.geography import Cloud

app = typer.Typer(
    help="Core Store: a multi-tenant directory on a local multi-region PostgreSQL cluster.",
    no_args_is_help=True,
)
app.add_typer(cluster_cli.cluster_app, name="cluster")
app.add_typer(tenant_app, name="tenant")
app.add_typer(audit_app, name="audit")
app.add_typer(compose_app, name="compose")
app.command("migrate")(migrate_command)
app.command("failover")(cluster_cli.failover_command)

cluster_cli.after_up.append(migrate_state)


@app.command("serve")
def serve_command(
    region: Annotated[str, typer.Option(help="The region this instance runs in.")],
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option(help="Listen address (0.0.0.0 inside a container).")] = "127.0.0.1",
    requests_per_second: Annotated[float, typer.Option(help="Per application and tenant.")] = 200.0,
    request_burst: Annotated[int, typer.Option()] = 400,
    writes_per_second: Annotated[float, typer.Option(help="Per tenant.")] = 50.0,
    write_burst: Annotated[int, typer.Option()] = 100,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Run one stateless front end against the running local cluster."""
    import uvicorn

    from auth_service.app import create_app
    from auth_service.frontend import FrontEnd, FrontEndConfig
    from auth_service.throttle import Limits

    with cli_errors():
        limits = Limits(requests_per_second, request_burst, writes_per_second, write_burst)
        frontend = FrontEnd(FrontEndConfig(region=region, directory=directory, limits=limits))
    uvicorn.run(create_app(frontend), host=host, port=port, log_level="warning", access_log=False)


@app.command("demo")
def demo_command(
    directory: DirOption = DEFAULT_DIR,
    front_end: Annotated[
        list[str] | None, typer.Option(help="A running front end: westeurope's, then northeurope's.")
    ] = None,
) -> None:
    """Start two front ends (two regions), create a tenant, sign in, write, read your write elsewhere."""
    from auth_service.demo import run_demo

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
