"""What a repository is given: a handle bound to one tenant, never the store or the session behind it."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import asyncpg

from corestore.pools import Connection
from corestore.types import Actor


class TenantHandle(Protocol):
    """One tenant's reads (one statement each, calling a tenant function) and write transactions."""

    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def actor(self) -> Actor | None:
        """Who the handle's writes are audited as (None: tooling, no one)."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """One statement on the nearest server that has every write this handle made."""
        ...

    async def fetch_primary(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """One statement on the primary, for a check a lagging replica must not fail."""
        ...

    async def write_one(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """One statement on the primary, committed on its own; it enters the tenant itself (`rls.entered`)."""
        ...

    def write(self) -> AbstractAsyncContextManager[Connection]:
        """One transaction on the primary, the tenant set first; committed when the block ends."""
        ...
