"""Our roles and databases on each unit's new primary; the replicas copy them like any write."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable

from scale_units.model.topology import ScaleUnit, Server
from scale_units.model.types import ScaleUnitId
from scale_units.state import CATALOG_DB, DIRECTORY_DB, ClusterState


async def create_roles(
    state: ClusterState, units: Iterable[ScaleUnit], catalogs: Collection[ScaleUnitId]
) -> None:
    """On each of `units`; those named in `catalogs` also get the catalog database."""
    await asyncio.gather(*(_bootstrap_roles(state, u.primary, u.id in catalogs) for u in units))


async def _bootstrap_roles(state: ClusterState, primary: Server, is_catalog: bool) -> None:
    """Owner (migrations) and app (owns nothing, no BYPASSRLS); Patroni made the replication role."""
    creds = state.credentials
    async with state.connect(primary) as conn:
        await conn.execute(f"""
            CREATE ROLE corestore_owner LOGIN PASSWORD {_literal(creds.owner)};
            CREATE ROLE corestore_app LOGIN PASSWORD {_literal(creds.app)}
                NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
        """)
        for database in [DIRECTORY_DB] + ([CATALOG_DB] if is_catalog else []):
            await conn.execute(f"CREATE DATABASE {database} OWNER corestore_owner")
            await conn.execute(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC")
            await conn.execute(f"GRANT CONNECT ON DATABASE {database} TO corestore_app")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
