"""Migrations are frozen operations; the schema they build is the one the models describe."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from corestore.catalog_schema import CatalogBase
from corestore.schema import Base
from scale_units.model.geography import Cloud
from scale_units.state import CATALOG_DB, DIRECTORY_DB, ClusterState


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
        cluster.dsn(server, "owner", database).replace("postgresql://", "postgresql+asyncpg://")
    )
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences(metadata))
    finally:
        await engine.dispose()
    assert differences == []
