"""Point reads from a generator process: through the library (system) and through raw asyncpg (baseline).

Both use one connection per task, the app role, and the same server for the same row.
The baseline is the plain minimum: each read is one prepared `fetchrow`, no transaction
(the tenant is set once per connection, see `rows.tenant_pool`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.generator import Client
from bench.rows import USER_SQL, Row, Rows, tenant_pool
from corestore.store import CoreStore
from scale_units.model.types import RegionName


@dataclass(frozen=True)
class LibraryRead:
    directory: Path
    region: RegionName
    rows: Rows

    async def open(self, tasks: int) -> Client:
        """The placement cache is warm (as a long-running caller's is): reads measure the
        directory, not the first lookup of each of up to 100,000 tenants in the catalog."""
        store = CoreStore.open(self.directory, region=self.region, pool_size=tasks)
        for cloud in store.topology.clouds():
            await store.catalog(cloud).preload()
        return _LibraryClient(store, self.rows, random.Random())


class _LibraryClient:
    def __init__(self, store: CoreStore, rows: Rows, rng: random.Random) -> None:
        self.store = store
        self.rows = rows
        self.rng = rng

    async def call(self, task: int) -> str | None:
        row = self.rows.pick(self.rng)
        session = await self.store.operator.session(
            row.tenant_id, self.store.topology.scale_units[row.scale_unit].cloud
        )
        user = await session.users.get(row.user_id)
        return None if user.id == row.user_id else "wrong row"

    async def close(self) -> None:
        await self.store.close()


@dataclass(frozen=True)
class RawRead:
    dsn: str
    row: Row

    async def open(self, tasks: int) -> Client:
        return _RawClient(await tenant_pool(self.dsn, self.row.tenant_id, tasks), self.row)


class _RawClient:
    def __init__(self, pool: asyncpg.Pool, row: Row) -> None:
        self.pool = pool
        self.row = row

    async def call(self, task: int) -> str | None:
        found = await self.pool.fetchrow(USER_SQL, self.row.tenant_id, self.row.user_id)
        return None if found is not None and found["id"] == self.row.user_id else "wrong row"

    async def close(self) -> None:
        await self.pool.close()
