"""One pool per server (and database), the app role's: the store's only database stack.

SQLAlchemy Core builds and compiles statements (`corestore.sql`); asyncpg runs them, on
connections of a `ServerPool`. A connection goes back without a reset query (RESET ALL
and friends, one round trip per request): nothing session-level is ever set on these
connections, the tenant only with `set_config(..., true)` inside a transaction, and a
connection given back inside a transaction is terminated, never reused.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import msgspec

from corestore.roles import DIRECTORY_DB, dsn
from corestore.servers.pool import ServerPool
from scale_units.model.types import RegionName, ServerName
from scale_units.state import ClusterState
from scale_units.wan.proxy import application_name

POOL_CONNECT_TIMEOUT_S = 2.0  # a new pooled connection
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record]
else:
    Connection = asyncpg.Connection


def _decode_jsonb(data: bytes) -> Any:
    """msgspec reads a jsonb on every row of a read (json.loads was ~2% of a library read); a
    number beyond a float's range, which jsonb can hold, is json's infinity as before."""
    try:
        return msgspec.json.decode(memoryview(data)[1:])
    except msgspec.ValidationError:
        return json.loads(data[1:])


async def connect(dsn: str, settings: dict[str, str]) -> Connection:
    """A pooled connection, jsonb as Python values on it: binary (version byte 1, then the
    text), since asyncpg decodes a composite (a row a function returns) only in binary."""
    conn: Connection = await asyncpg.connect(dsn, server_settings=settings, timeout=POOL_CONNECT_TIMEOUT_S)
    try:
        await conn.set_type_codec(
            "jsonb",
            encoder=lambda value: b"\x01" + json.dumps(value).encode(),
            decoder=_decode_jsonb,
            schema="pg_catalog",
            format="binary",
        )
    except BaseException:
        conn.terminate()
        raise
    return conn


class Pools:
    """Pools are made on first use and kept: per server, never per request."""

    def __init__(self, state: ClusterState, size: int = 10, region: RegionName | None = None) -> None:
        self.state = state
        self.size = size
        # Names the caller's region to the servers, and to a WAN proxy that delays by link.
        self._settings = {"application_name": application_name(region or "unknown")}
        self._pools: dict[tuple[ServerName, str], ServerPool] = {}

    def get(self, server: ServerName, database: str = DIRECTORY_DB) -> ServerPool:
        """The app role's pool on `server` (connections are made when first needed)."""
        key = (server, database)
        pool = self._pools.get(key)
        if pool is None:
            opener = partial(connect, dsn(self.state, server, "app", database), self._settings)
            pool = self._pools[key] = ServerPool(opener, self.size)
        return pool

    def usage(self) -> list[tuple[ServerName, str, int, int]]:
        """Per pool made so far: server, database, connections open, connections in use."""
        return [(server, db, pool.open, pool.in_use) for (server, db), pool in self._pools.items()]

    def use_state(self, state: ClusterState) -> None:
        """The cluster's state after it grew (`corestore.servers.unit_discovery`): the same servers at the
        same addresses, and the new units' ones."""
        self.state = state

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
