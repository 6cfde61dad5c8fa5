"""The `corestore` command: the one place where the layers' commands are wired together."""

from __future__ import annotations

import typer

from scale_units.cli import cluster_app

app = typer.Typer(
    help="Core Store: a multi-tenant directory on a local multi-region PostgreSQL cluster.",
    no_args_is_help=True,
)
app.add_typer(cluster_app, name="cluster")
