"""Our roles and databases on each unit's primary, made before the migrations (the replicas
copy them like any write): corestore's, so the cluster layer creates none of them.

Idempotent, as the migrations are: `corestore migrate` runs it on every `cluster up`,
after `cluster add-unit` and in the compose `migrate` service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable

from scale_units.model.topology import ScaleUnit, Server
from scale_units.model.types import ScaleUnitId
from scale_units.state import CATALOG_DB, DIRECTORY_DB, ROLE_USERS, ClusterState

OWNER = ROLE_USERS["owner"]
APP = ROLE_USERS["app"]


async def ensure_roles(
    state: ClusterState, units: Iterable[ScaleUnit], catalogs: Collection[ScaleUnitId]
) -> None:
    """On each of `units` that lacks them; those named in `catalogs` also get the catalog database."""
    await asyncio.gather(*(_ensure(state, u.primary, u.id in catalogs) for u in units))


async def _ensure(state: ClusterState, primary: Server, is_catalog: bool) -> None:
    """Owner (migrations) and app (owns nothing, no BYPASSRLS); Patroni made the replication role."""
    creds = state.credentials
    async with state.connect(primary) as conn:
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", OWNER):
            await conn.execute(f"""
                CREATE ROLE {OWNER} LOGIN PASSWORD {_literal(creds.owner)};
                CREATE ROLE {APP} LOGIN PASSWORD {_literal(creds.app)}
                    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
            """)
        for database in [DIRECTORY_DB] + ([CATALOG_DB] if is_catalog else []):
            if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
                continue
            await conn.execute(f"CREATE DATABASE {database} OWNER {OWNER}")
            await conn.execute(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC")
            await conn.execute(f"GRANT CONNECT ON DATABASE {database} TO {APP}")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
