"""`corestore tenant move` and `corestore cluster drain`: moves from the command line.

Progress goes to standard output: one line per phase, or on a terminal one line redrawn
in place; with `--json`, the last line is one JSON object per move (`tenant`, `from`, `to`,
`rows`, `bytes`, `seconds`, `fence_ms`).
"""

from __future__ import annotations

import json
import sys
import uuid
from contextlib import closing
from typing import Annotated

import typer

from corestore.cli import with_store
from corestore.errors import TenantNotFound
from corestore.moves.mover import DEFAULT_COPY_MIB_S, MoveReport
from corestore.store import CoreStore
from scale_units.cli import DEFAULT_DIR, DirOption
from scale_units.progress import Progress

JsonOption = Annotated[bool, typer.Option("--json", help="End with one JSON object on the last line.")]


def _as_json(report: MoveReport) -> dict[str, object]:
    return {
        "tenant": str(report.tenant),
        "from": report.source,
        "to": report.target,
        "rows": report.rows,
        "bytes": report.bytes,
        "seconds": round(report.seconds, 3),
        "fence_ms": round(report.fence_ms, 1),
        "epoch": report.epoch,
    }


async def _tenant_id(store: CoreStore, tenant: str) -> uuid.UUID:
    """A tenant by id or by one of its verified domains."""
    try:
        return uuid.UUID(tenant)
    except ValueError:
        pass
    for cloud in store.topology.clouds():
        found = await store.catalog(cloud).resolve_domain(tenant)
        if found is not None:
            return found
    raise TenantNotFound(f"no tenant with id or verified domain {tenant!r}")


def move_command(
    tenant: Annotated[str, typer.Argument(help="The tenant's id or one of its verified domains.")],
    to: Annotated[str, typer.Option("--to", help="The scale unit to move it to (same geo and cloud).")],
    copy_rate: Annotated[
        float,
        typer.Option(
            "--copy-rate", help="The copy's pace in MiB/s, to spare the units' other tenants; 0: unpaced."
        ),
    ] = DEFAULT_COPY_MIB_S,
    as_json: JsonOption = False,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Move a tenant, online, to another scale unit of its geo; rerun after a failure to undo
    or finish the interrupted move."""

    async def work(store: CoreStore) -> MoveReport:
        rate = None if copy_rate == 0 else copy_rate
        return await store.operator.move_tenant(await _tenant_id(store, tenant), to, progress, rate)

    with closing(Progress(file=sys.stdout)) as progress:
        report = with_store(directory, work)
    if as_json:
        typer.echo(json.dumps(_as_json(report)))
    else:
        typer.echo(
            f"moved {report.tenant} from {report.source} to {report.target}: {report.rows} rows, "
            f"{report.bytes / 2**20:.1f} MiB in {report.seconds:.1f} s; fence {report.fence_ms:.0f} ms"
        )


def drain_command(
    unit: Annotated[str, typer.Argument(help="The scale unit to empty.")],
    as_json: JsonOption = False,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Stop placing tenants on a unit and move each of its tenants off, one at a time."""
    with closing(Progress(file=sys.stdout)) as progress:
        reports = with_store(directory, lambda store: store.operator.drain_unit(unit, progress))
    if as_json:
        typer.echo(json.dumps([_as_json(r) for r in reports]))
    else:
        typer.echo(f"drained {unit}: {len(reports)} tenant(s) moved")
