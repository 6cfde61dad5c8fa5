"""`corestore migrate` and `corestore tenant ...`: operator commands on the directory."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from corestore.errors import CoreStoreError
from corestore.migrate import migrate_cluster
from corestore.store import CoreStore
from scale_units.cli import DEFAULT_DIR, DirOption, cli_errors
from scale_units.model.geography import Cloud
from scale_units.state import ClusterState

tenant_app = typer.Typer(help="Create and delete tenants (operator context).", no_args_is_help=True)
T = TypeVar("T")


def migrate_state(state: ClusterState) -> None:
    """Migrates the primaries Patroni reports now (discovered once, here)."""
    asyncio.run(migrate_cluster(state, state.discover()))


def migrate_command(directory: DirOption = DEFAULT_DIR) -> None:
    """Apply schema migrations to every primary and every cloud's catalog."""
    with cli_errors():
        migrate_state(ClusterState.load(directory))
    typer.echo("migrated")


def with_store(directory: Path, work: Callable[[CoreStore], Awaitable[T]]) -> T:
    async def run() -> T:
        store = CoreStore.open(directory)
        try:
            return await work(store)
        finally:
            await store.close()

    with cli_errors():
        try:
            return asyncio.run(run())
        except CoreStoreError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


@tenant_app.command("create")
def create_command(
    display_name: str,
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code.")],
    cloud: Annotated[Cloud, typer.Option()] = Cloud.PUBLIC,
    domain: Annotated[list[str] | None, typer.Option(help="A verified domain (repeatable).")] = None,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Create a tenant: its country picks the geo, placement picks the scale unit."""
    tenant = with_store(
        directory, lambda s: s.operator.create_tenant(display_name, country, cloud, tuple(domain or ()))
    )
    placement = tenant.placement
    typer.echo(
        json.dumps(
            {
                "id": str(tenant.id),
                "displayName": tenant.display_name,
                "country": tenant.country,
                "cloud": placement.cloud.value,
                "geo": placement.geo.value,
                "scaleUnit": placement.scale_unit,
                "domains": list(tenant.domains),
            },
            indent=2,
        )
    )


@tenant_app.command("delete")
def delete_command(
    tenant_id: uuid.UUID,
    cloud: Annotated[Cloud, typer.Option()] = Cloud.PUBLIC,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Purge every row of a tenant (run again to finish an interrupted purge)."""
    with_store(directory, lambda s: s.operator.delete_tenant(tenant_id, cloud))
    typer.echo(f"deleted {tenant_id}")


@tenant_app.command("redirect-uris")
def redirect_uris_command(
    tenant_id: uuid.UUID,
    application_id: Annotated[uuid.UUID, typer.Argument(help="The application's object id.")],
    platform: Annotated[str, typer.Option(help="web, spa or publicClient, as in Graph.")],
    uri: Annotated[list[str] | None, typer.Option(help="A redirect URI (repeatable); none clears.")] = None,
    cloud: Annotated[Cloud, typer.Option()] = Cloud.PUBLIC,
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Replace an application's redirect URIs of one platform (as Graph's web, spa and publicClient do)."""

    async def work(store: CoreStore) -> None:
        session = await store.operator.session(tenant_id, cloud)
        await session.grants.set_redirect_uris(application_id, platform, uri or [])

    with_store(directory, work)
    typer.echo(f"{platform}: {', '.join(uri or []) or '(none)'}")
