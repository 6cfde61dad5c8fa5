"""The `corestore` command: the one place where the layers' commands are wired together."""

from __future__ import annotations

from typing import Annotated

import typer

from corestore.cli import audit_app, migrate_command, migrate_state, tenant_app
from scale_units import cli as cluster_cli
from scale_units.cli import DEFAULT_DIR, DirOption, cli_errors

app = typer.Typer(
    help="Core Store: a multi-tenant directory on a local multi-region PostgreSQL cluster.",
    no_args_is_help=True,
)
app.add_typer(cluster_cli.cluster_app, name="cluster")
app.add_typer(tenant_app, name="tenant")
app.add_typer(audit_app, name="audit")
app.command("migrate")(migrate_command)
app.command("failover")(cluster_cli.failover_command)

cluster_cli.after_up.append(migrate_state)


@app.command("serve")
def serve_command(
    region: Annotated[str, typer.Option(help="The region this instance runs in.")],
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option(help="Listen address (0.0.0.0 inside a container).")] = "127.0.0.1",
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Run one stateless front end against the running local cluster."""
    import uvicorn

    from auth_service.app import create_app
    from auth_service.frontend import FrontEnd, FrontEndConfig

    with cli_errors():
        frontend = FrontEnd(FrontEndConfig(region=region, directory=directory))
    uvicorn.run(create_app(frontend), host=host, port=port, log_level="warning", access_log=False)


@app.command("demo")
def demo_command(directory: DirOption = DEFAULT_DIR) -> None:
    """Start two front ends (two regions), create a tenant, sign in, write, read your write elsewhere."""
    from auth_service.demo import run_demo

    with cli_errors():
        run_demo(directory)
