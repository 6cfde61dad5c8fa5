"""Which row a read workload reads, and where: the same row on the same replica for system and baseline."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from bench.generator import Client
from corestore.objects import User, field_names
from scale_units.model.topology import Topology
from scale_units.model.types import RegionName, ScaleUnitId, ServerName
from scale_units.routing import Router

# The library's point read selects exactly the record's fields; the raw baselines select the same.
USER_SQL = f"SELECT {', '.join(field_names(User))} FROM users WHERE tenant_id = $1 AND id = $2"  # noqa: S608 - field names
SET_TENANT_FOR_SESSION = "SELECT set_config('corestore.tenant_id', $1, false)"


@dataclass(frozen=True)
class Row:
    tenant_id: uuid.UUID
    scale_unit: ScaleUnitId
    user_id: uuid.UUID


class Rows(Protocol):
    def pick(self, rng: random.Random) -> Row: ...


@dataclass(frozen=True)
class OneRow:
    row: Row

    def pick(self, rng: random.Random) -> Row:
        return self.row


async def tenant_pool(dsn: str, tenant_id: uuid.UUID, size: int) -> asyncpg.Pool:
    """The raw baselines' connections: the tenant set once per connection (session level, so row-level
    security still applies), and no reset on release (asyncpg's default reset is a round trip, and
    would clear the tenant)."""

    async def set_tenant(conn: asyncpg.Connection) -> None:
        await conn.fetchval(SET_TENANT_FOR_SESSION, str(tenant_id))

    async def keep(conn: asyncpg.Connection) -> None:
        return None

    return await asyncpg.create_pool(dsn, min_size=size, max_size=size, init=set_tenant, reset=keep)


@dataclass(frozen=True)
class RawBaseline:
    """A raw baseline: `once` per call on a pool of `tenant_pool` connections to `dsn`, for `row`."""

    dsn: str
    row: Row

    async def open(self, tasks: int) -> Client:
        return _PoolClient(await tenant_pool(self.dsn, self.row.tenant_id, tasks), self.once)

    async def once(self, pool: asyncpg.Pool) -> str | None:
        raise NotImplementedError


class _PoolClient:
    def __init__(self, pool: asyncpg.Pool, once: Callable[[asyncpg.Pool], Awaitable[str | None]]) -> None:
        self.pool = pool
        self.once = once

    async def call(self, task: int) -> str | None:
        return await self.once(self.pool)

    async def close(self) -> None:
        await self.pool.close()


def nearest_server(topology: Topology, region: RegionName, unit: ScaleUnitId) -> ServerName:
    """The server the library's router reads from first (the nearest replica) for `region`."""
    return Router(topology, region).read_order(topology.scale_units[unit])[0].name
