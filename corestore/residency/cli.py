"""`corestore residency report` and `corestore audit residency`: the table, and reality against it."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Annotated

import typer

from corestore.residency.audit import Audit, Finding, Holding, run_audit
from corestore.residency.report import ComponentReport, cluster_rules, tenant_report
from scale_units.cli import DEFAULT_DIR, DirOption, cli_errors, render_table
from scale_units.model.topology import Topology
from scale_units.state import ClusterState

residency_app = typer.Typer(help="Where each component's data is stored.", no_args_is_help=True)
audit_app = typer.Typer(help="Audits across every server of every cloud.", no_args_is_help=True)
TenantOption = Annotated[uuid.UUID | None, typer.Option(help="One tenant's data, wherever it is.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
RULE_HEADER = ("MODEL", "COMPONENT", "STORED", "EXCEPTION")
LOCATION_HEADER = ("COMPONENT", "STORED", "WHERE", "REGION", "WHAT", "ROWS")
HOLDING_HEADER = ("COMPONENT", "WHERE", "REGION", "GEO", "CLOUD", "SCALE UNIT", "WHAT", "ROWS")
FINDING_HEADER = ("FINDING", "COMPONENT", "TENANT", "WHERE", "WHAT", "HOME")


def _cluster(directory: Path) -> tuple[ClusterState, Topology]:
    """The cluster's state, and its roles discovered once for the whole command."""
    with cli_errors():
        state = ClusterState.load(directory)
        return state, state.discover()


def _audit(state: ClusterState, topology: Topology) -> Audit:
    with cli_errors():
        return asyncio.run(run_audit(state, topology))


@residency_app.command("report")
def report_command(
    tenant: TenantOption = None, as_json: JsonOption = False, directory: DirOption = DEFAULT_DIR
) -> None:
    """The component-location table; with --tenant, every server, table and directory holding its data."""
    state, topology = _cluster(directory)
    if tenant is None:
        rules = cluster_rules(topology)
        if as_json:
            typer.echo(json.dumps([r.to_json() for r in rules], indent=2))
        else:
            rows = [(r.model.value, r.component.value, r.stored.value, r.exception or "-") for r in rules]
            typer.echo(render_table(RULE_HEADER, rows))
        return
    audit = _audit(state, topology)
    home = audit.homes.get(tenant)
    if home is None:
        typer.echo(f"error: no tenant {tenant} in any catalog of this cluster", err=True)
        raise typer.Exit(1)
    report = tenant_report(state, topology, audit, tenant, home)
    if as_json:
        place = {"tenant": str(tenant), "cloud": home.cloud, "geo": home.geo, "scaleUnit": home.scale_unit}
        typer.echo(json.dumps({**place, "components": [c.to_json() for c in report]}, indent=2))
        return
    typer.echo(f"tenant {tenant}: {home.cloud.value}/{home.geo.value}/{home.scale_unit}")
    typer.echo(render_table(LOCATION_HEADER, [row for c in report for row in _locations(c)]))


def _locations(report: ComponentReport) -> list[tuple[str, ...]]:
    rule = report.rule
    return [
        (rule.component.value, rule.stored.value, loc.where, loc.region or "-", loc.what, _count(loc.rows))
        for loc in report.locations
    ]


def _count(rows: int | None) -> str:
    return "-" if rows is None else str(rows)


@audit_app.command("residency")
def audit_command(tenant: TenantOption = None, directory: DirOption = DEFAULT_DIR) -> None:
    """Every copy the component table does not allow: tenant rows outside their place, rows of
    unknown tenants, a WAL consumer outside its unit, a signing key in another cloud's ring.

    Exit status: 0 clean, 1 a violation, 2 a server could not be audited.
    """
    audit = _audit(*_cluster(directory))
    if tenant is not None:
        typer.echo(render_table(HOLDING_HEADER, [_holding(h) for h in audit.of(tenant)]))
        return
    typer.echo(render_table(FINDING_HEADER, [_finding(f) for f in audit.findings]))
    tenants = len({h.tenant_id for h in audit.holdings if h.tenant_id is not None})
    typer.echo(f"{tenants} tenants, {len(audit.holdings)} copies; {len(audit.findings)} violations")
    for name in audit.unreachable:
        typer.echo(f"warning: {name} could not be audited", err=True)
    if audit.findings:
        raise typer.Exit(1)
    if audit.unreachable:
        raise typer.Exit(2)


def _holding(h: Holding) -> tuple[str, ...]:
    place = (h.region or "-", h.geo or "-", h.cloud, h.scale_unit or "-")
    return (h.component.value, h.where, *place, h.what, str(h.rows))


def _finding(f: Finding) -> tuple[str, ...]:
    tenant = "-" if f.holding.tenant_id is None else str(f.holding.tenant_id)
    home = "-" if f.home is None else f"{f.home.cloud}/{f.home.geo}/{f.home.scale_unit}"
    return (f.kind, f.holding.component.value, tenant, f.holding.where, f.holding.what, home)
