"""Migrations are frozen operations; the schema they build is the one the models describe."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from corestore.catalog_schema import CatalogBase
from corestore.read_functions import READ_FUNCTIONS, SCHEMA
from corestore.roles import APP, CATALOG_DB, DIRECTORY_DB, dsn
from corestore.schema import Base
from scale_units.model.geography import Cloud
from scale_units.state import ClusterState


def _differences(metadata: MetaData) -> Any:
    def compare(conn: Connection) -> Any:
        return compare_metadata(MigrationContext.configure(conn), metadata)

    return compare


@pytest.mark.parametrize(
    ("metadata", "database"), [(Base.metadata, DIRECTORY_DB), (CatalogBase.metadata, CATALOG_DB)]
)
async def test_migrated_schema_matches_the_models(
    cluster: ClusterState, metadata: MetaData, database: str
) -> None:
    topology = cluster.discover()
    server = (
        topology.catalog_unit(Cloud.PUBLIC).primary
        if database == CATALOG_DB
        else topology.scale_units["emea-1"].primary
    )
    engine = create_async_engine(
        dsn(cluster, server, "owner", database).replace("postgresql://", "postgresql+asyncpg://")
    )
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences(metadata))
    finally:
        await engine.dispose()
    assert differences == []


async def test_every_read_function_the_store_calls_exists_for_the_app_role(cluster: ClusterState) -> None:
    """`corestore.read_functions` against `pg_proc`: name, number of arguments, EXECUTE granted."""
    primary = cluster.discover().scale_units["emea-1"].primary
    async with cluster.connect(primary, DIRECTORY_DB) as conn:
        rows = await conn.fetch(
            "SELECT p.proname, p.pronargs FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = $1 AND has_function_privilege($2, p.oid, 'EXECUTE')",
            SCHEMA,
            APP,
        )
    callable_by_app = {(r["proname"], r["pronargs"]) for r in rows}
    assert set(READ_FUNCTIONS.items()) - callable_by_app == set()
