"""Apply migrations to every primary (directory) and every cloud's catalog; sync slots."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from corestore.roles import CATALOG_DB, DIRECTORY_DB, dsn, ensure_roles
from scale_units.model.topology import ScaleUnit, Topology
from scale_units.state import ClusterState

MIGRATIONS = Path(__file__).parent / "migrations"


def _upgrade(connection: Connection, kind: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_locations", str(MIGRATIONS / kind))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


async def _migrate(dsn: str, kind: str) -> None:
    engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, kind)
    finally:
        await engine.dispose()


async def migrate_cluster(state: ClusterState, topology: Topology) -> None:
    """Idempotent: run at every `cluster up` and by `corestore migrate`; our roles and
    databases first, where a unit lacks them."""
    await ensure_roles(state, topology.scale_units.values(), set(topology.catalogs.values()))
    for unit in topology.scale_units.values():
        await _migrate(dsn(state, unit.primary, "owner", DIRECTORY_DB), "directory")
    for cloud in topology.clouds():
        catalog = topology.catalog_unit(cloud)
        catalog_dsn = dsn(state, catalog.primary, "owner", CATALOG_DB)
        await _migrate(catalog_dsn, "catalog")
        await _sync_slots(catalog_dsn, topology.units_in_cloud(cloud))


async def _sync_slots(dsn: str, units: tuple[ScaleUnit, ...]) -> None:
    """The catalog's scale unit rows follow the topology's capacities."""
    engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            for unit in units:
                await conn.execute(
                    text(
                        "INSERT INTO scale_units (id, cloud, geo, capacity, tenant_count) "
                        "VALUES (:id, :cloud, :geo, :capacity, 0) "
                        "ON CONFLICT (id) DO UPDATE SET capacity = excluded.capacity"
                    ),
                    {
                        "id": unit.id,
                        "cloud": unit.cloud.value,
                        "geo": unit.geo.value,
                        "capacity": unit.capacity,
                    },
                )
    finally:
        await engine.dispose()
