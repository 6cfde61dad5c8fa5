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

from bench.db.libenv import warm_store
from bench.db.rows import USER_SQL, RawBaseline, Rows
from bench.generator import Client
from corestore.store import CoreStore
from scale_units.model.types import RegionName


@dataclass(frozen=True)
class LibraryRead:
    directory: Path
    region: RegionName
    rows: Rows

    async def open(self, tasks: int) -> Client:
        return _LibraryClient(
            await warm_store(self.directory, self.region, tasks), self.rows, random.Random()
        )


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
class RawRead(RawBaseline):
    async def once(self, pool: asyncpg.Pool) -> str | None:
        found = await pool.fetchrow(USER_SQL, self.row.tenant_id, self.row.user_id)
        return None if found is not None and found["id"] == self.row.user_id else "wrong row"
