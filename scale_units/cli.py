"""`corestore cluster ...`: bring the local cluster up, show it, take it down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from scale_units.errors import ScaleUnitError
from scale_units.local import launcher, tls
from scale_units.local.binaries import BinarySource
from scale_units.local.status import ServerStatus, cluster_status
from scale_units.model.loader import default_topology_path
from scale_units.model.types import ServerName
from scale_units.state import ClusterState, default_state_dir
from scale_units.wan import cluster as wan_cluster

cluster_app = typer.Typer(help="The local multi-region PostgreSQL cluster.", no_args_is_help=True)

DEFAULT_DIR = default_state_dir()
DEFAULT_TOPOLOGY = default_topology_path()
TopologyOption = Annotated[Path, typer.Option(help="Topology TOML file.")]
BinariesOption = Annotated[BinarySource, typer.Option(help="Server binaries.")]

DirOption = Annotated[
    Path, typer.Option("--dir", help="State directory ($CORESTORE_HOME).", show_default=False)
]


@contextmanager
def cli_errors() -> Iterator[None]:
    """Our errors become one clear line on stderr and exit status 1, not a traceback."""
    try:
        yield
    except ScaleUnitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


StatusOption = Annotated[bool, typer.Option("--json", help="Machine-readable, with DSNs.")]
# What the layers above add to a server's entry in `status --json` (corestore: its roles' DSNs).
ServerDetails = Callable[[ClusterState, ServerName], dict[str, object]]


def show_status(directory: Path, as_json: bool, details: ServerDetails) -> None:
    """Each server: cloud, geo, region, role, port, alive, replay lag (`cluster status`, which
    the composition root registers with the details it adds)."""
    with cli_errors():
        state = ClusterState.load(directory)
        statuses = asyncio.run(cluster_status(state))
    wan = wan_cluster.stats(state)
    if as_json:
        servers = [asdict(status) | details(state, status.name) for status in statuses]
        document = {
            "directory": str(state.directory),
            "ca_bundle": str(tls.ca_bundle(state.directory)),
            "servers": servers,
            "wan": wan and wan.to_json(),
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(format_table(statuses) + ("" if wan is None else f"\n{wan.line()}"))


def render_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell: what every listing command prints."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    )


def format_table(statuses: list[ServerStatus]) -> str:
    header = ("SERVER", "CLOUD", "GEO", "REGION", "ROLE", "PORT", "ALIVE", "LAG(bytes)", "SYNC")
    rows = [
        (
            s.name,
            s.cloud,
            s.geo,
            s.region,
            s.role,
            str(s.port),
            "yes" if s.alive else "DOWN",
            "-" if s.lag_bytes is None else str(s.lag_bytes),
            s.sync,
        )
        for s in statuses
    ]
    return render_table(header, rows)


@cluster_app.command("down")
def down_command(
    directory: DirOption = DEFAULT_DIR,
    purge: Annotated[bool, typer.Option(help="Also delete the data.")] = False,
) -> None:
    """Stop every server of the cluster."""
    with cli_errors():
        found = launcher.down(directory, purge=purge)
    typer.echo("cluster down" if found else f"no cluster at {directory}")


def failover_command(
    scale_unit: str,
    to: Annotated[
        str | None, typer.Option(help="The replica to promote (default: Patroni's choice).")
    ] = None,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Planned switchover of SCALE_UNIT through Patroni: the primary steps down, a replica in the
    quorum takes over, and the old primary follows it. (A primary that dies fails over by itself.)"""
    from scale_units.local.switchover import switchover

    with cli_errors():
        new = switchover(ClusterState.load(directory), scale_unit, to)
    typer.echo(f"{scale_unit}: primary is now {new}")
