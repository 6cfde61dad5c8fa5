"""`corestore compose`: print a topology's compose file; inside its containers, state, members, ready."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from scale_units.cli import DirOption, cli_errors
from scale_units.compose.member import run_member
from scale_units.compose.project import render, topology_mount
from scale_units.compose.state import ready, write_state
from scale_units.model.loader import default_topology_path, load_topology
from scale_units.state import ClusterState

compose_app = typer.Typer(help="The cluster as a compose file (Docker, or podman).")
TopologyOption = Annotated[Path, typer.Option(help="Topology TOML file.")]
COMPOSE_TOPOLOGY = default_topology_path("compose")  # the default's, and a second EMEA unit to move to


@compose_app.callback(invoke_without_command=True)
def compose_command(ctx: typer.Context, topology: TopologyOption = COMPOSE_TOPOLOGY) -> None:
    """Print the compose file of TOPOLOGY's cluster (docker-compose.yml is the compose topology's)."""
    if ctx.invoked_subcommand is not None:
        return
    with cli_errors():
        loaded = load_topology(topology)
    mount = topology_mount(topology, Path.cwd())
    typer.echo(render(loaded, mount, source=mount.removeprefix("./")), nl=False)


@compose_app.command("state")
def state_command(topology: TopologyOption, directory: DirOption) -> None:
    """(In the `config` service.) Write cluster.json from the environment's secrets."""
    with cli_errors():
        state = write_state(topology, directory, os.environ)
    typer.echo(f"compose state for {len(state.servers)} servers written to {directory}")


@compose_app.command("member")
def member_command(server: str, directory: DirOption) -> None:
    """(In a server's container.) Run SERVER as a Patroni member of its scale unit."""
    with cli_errors():
        run_member(directory, server)


@compose_app.command("ready")
def ready_command(directory: DirOption) -> None:
    """(In the `migrate` service.) Until every unit leads and streams."""
    with cli_errors():
        ready(ClusterState.load(directory))
    typer.echo("every unit has a leader and its quorum")
