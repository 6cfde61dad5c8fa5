"""One asyncpg pool per server (and database), the app role's: the store's only database stack.

SQLAlchemy Core builds and compiles statements (`corestore.sql`); asyncpg runs them.
A pooled connection is released without asyncpg's reset query (RESET ALL and
friends, one round trip per request): nothing session-level is ever set on these
connections, the tenant only with `set_config(..., true)` inside a transaction,
and asyncpg itself rolls back a connection handed back inside a transaction.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import msgspec

from corestore.roles import DIRECTORY_DB, dsn
from scale_units.model.types import RegionName, ServerName
from scale_units.state import ClusterState
from scale_units.wan.proxy import application_name

POOL_CONNECT_TIMEOUT_S = 2.0  # a new pooled connection
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.pool.PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.pool.PoolConnectionProxy


async def _no_reset(conn: asyncpg.Connection) -> None:
    """On release, nothing: see the module's docstring (a test holds us to it)."""


def _decode_jsonb(data: bytes) -> Any:
    """msgspec reads a jsonb on every row of a read (json.loads was ~2% of a library read); a
    number beyond a float's range, which jsonb can hold, is json's infinity as before."""
    try:
        return msgspec.json.decode(memoryview(data)[1:])
    except msgspec.ValidationError:
        return json.loads(data[1:])


async def _init(conn: asyncpg.Connection) -> None:
    """jsonb as Python values, set once per connection; binary (version byte 1, then the
    text), since asyncpg decodes a composite (a row a function returns) only in binary."""
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: b"\x01" + json.dumps(value).encode(),
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )


class Pools:
    """Pools are made on first use and kept: per server, never per request."""

    def __init__(self, state: ClusterState, size: int = 10, region: RegionName | None = None) -> None:
        self.state = state
        self.size = size
        # Names the caller's region to the servers, and to a WAN proxy that delays by link.
        self._settings = {"application_name": application_name(region or "unknown")}
        self._pools: dict[tuple[ServerName, str], asyncpg.Pool] = {}
        self._lock = asyncio.Lock()

    async def get(self, server: ServerName, database: str = DIRECTORY_DB) -> asyncpg.Pool:
        """The app role's pool on `server` (connections are made when first needed)."""
        key = (server, database)
        pool = self._pools.get(key)
        if pool is None:
            async with self._lock:
                pool = self._pools.get(key)
                if pool is None:
                    pool = await asyncpg.create_pool(
                        dsn(self.state, server, "app", database),
                        min_size=0,
                        max_size=self.size,
                        reset=_no_reset,
                        init=_init,
                        server_settings=self._settings,
                        timeout=POOL_CONNECT_TIMEOUT_S,
                    )
                    self._pools[key] = pool
        return pool

    def usage(self) -> list[tuple[ServerName, str, int, int]]:
        """Per pool made so far: server, database, connections open, connections in use."""
        return [
            (server, database, pool.get_size(), pool.get_size() - pool.get_idle_size())
            for (server, database), pool in self._pools.items()
        ]

    def use_state(self, state: ClusterState) -> None:
        """The cluster's state after it grew (`corestore.servers.unit_discovery`): the same servers at the
        same addresses, and the new units' ones."""
        self.state = state

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
