"""Creates from a generator process: through the library (system) and through raw asyncpg (baseline).

Both write a new user into the same tenant on its primary, one connection per task, the app
role. The baseline is the plain minimum for a create: the same INSERT (the same columns and
RETURNING), the tenant set once per connection (`rows.tenant_pool`), in autocommit; the
library pays for its transaction, the tenant's fence and the commit position that
read-your-writes needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.db.libenv import warm_store
from bench.db.rows import RawBaseline, Row
from bench.generator import Client
from corestore.objects import User, field_names
from corestore.store import CoreStore
from scale_units.model.types import RegionName

WRITE_DOMAIN = "bench-writes.example"
# The columns and values a library create of a user with a name and principal name writes.
CREATE_USER_SQL = (
    "INSERT INTO users (tenant_id, id, user_principal_name, display_name, version, account_enabled,"  # noqa: S608
    " admin, extension) VALUES ($1, $2, $3, $4, 1, true, false, '{}')"
    f" RETURNING {', '.join(field_names(User))}"
)


def new_principal_name() -> str:
    return f"w-{uuid.uuid4().hex}@{WRITE_DOMAIN}"


@dataclass(frozen=True)
class LibraryWrite:
    directory: Path
    region: RegionName
    row: Row

    async def open(self, tasks: int) -> Client:
        return _LibraryClient(await warm_store(self.directory, self.region, tasks), self.row)


class _LibraryClient:
    def __init__(self, store: CoreStore, row: Row) -> None:
        self.store = store
        self.row = row
        self.cloud = store.topology.scale_units[row.scale_unit].cloud

    async def call(self, task: int) -> str | None:
        session = await self.store.operator.session(self.row.tenant_id, self.cloud)
        name = new_principal_name()
        user = await session.users.create(user_principal_name=name, display_name="bench-writer")
        return None if user.user_principal_name == name else "wrong row"

    async def close(self) -> None:
        await self.store.close()


@dataclass(frozen=True)
class RawWrite(RawBaseline):
    async def once(self, pool: asyncpg.Pool) -> str | None:
        name = new_principal_name()
        created = await pool.fetchrow(CREATE_USER_SQL, self.row.tenant_id, uuid.uuid4(), name, "bench-writer")
        return None if created is not None and created["user_principal_name"] == name else "wrong row"
