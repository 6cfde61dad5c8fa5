"""Our roles and databases on each unit's primary, made before the migrations (the replicas
copy them like any write): corestore's, so the cluster layer neither creates nor names them.

Idempotent, as the migrations are: `corestore migrate` runs it on every `cluster up`,
after `cluster add-unit` and in the compose `migrate` service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from typing import Literal

from scale_units.model.topology import ScaleUnit, Server
from scale_units.model.types import ScaleUnitId, ServerName
from scale_units.state import ClusterState, Login

DIRECTORY_DB = "corestore"
CATALOG_DB = "corestore_catalog"
OWNER = "corestore_owner"  # owns the tables; the migrations run as it
APP = "corestore_app"  # what the store connects as: owns nothing, no BYPASSRLS
# The roles we connect as: each one's password is the cluster's `Credentials` field of that name.
Role = Literal["superuser", "owner", "app"]


def login(state: ClusterState, role: Role) -> Login:
    if role == "superuser":
        return state.superuser
    return Login(OWNER if role == "owner" else APP, getattr(state.credentials, role))


def dsn(
    state: ClusterState, server: Server | ServerName, role: Role = "app", database: str = DIRECTORY_DB
) -> str:
    """A connection URL for `server` as one of our roles, to the directory database unless given."""
    return state.dsn(server, database, login(state, role))


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
