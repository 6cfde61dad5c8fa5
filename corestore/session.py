"""A tenant session: the only way to reach directory data, bound to one tenant.

It is made from a verified token's claims (`CoreStore.session`) or, for tooling,
by the operator context (`CoreStore.operator.session`), never from request data.
Each operation is one transaction whose first statement sets the tenant for
row-level security. Writes go to the primary and yield a consistency token;
reads go to the nearest healthy replica that has replayed past that token.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from corestore.engines import CONNECT_TIMEOUT_S, Session
from corestore.errors import Conflict, InvalidRequest, Unavailable
from corestore.rls import SET_TENANT, begin_read_only
from corestore.types import ConsistencyToken
from scale_units.topology import ScaleUnit, Server
from scale_units.types import lsn_position

if TYPE_CHECKING:
    ReadConnection = asyncpg.pool.PoolConnectionProxy[asyncpg.Record]
    from corestore.directory.applications import Applications, ServicePrincipals
    from corestore.directory.devices import Devices
    from corestore.directory.groups import Groups
    from corestore.directory.sign_ins import SignIns
    from corestore.directory.users import Users
    from corestore.store import CoreStore

CONSISTENCY_WAIT_S = 1.0
UNREACHABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    TimeoutError,
)
CAUGHT_UP_SQL = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"


class TenantSession:
    def __init__(
        self,
        store: CoreStore,
        tenant_id: uuid.UUID,
        unit: ScaleUnit,
        consistency: ConsistencyToken | None = None,
    ) -> None:
        self.store = store
        self.tenant_id = tenant_id
        self.unit = unit
        self.token = consistency if consistency and consistency.scale_unit == unit.id else None
        self.last_server: str | None = None

    @cached_property
    def users(self) -> Users:
        from corestore.directory.users import Users

        return Users(self)

    @cached_property
    def groups(self) -> Groups:
        from corestore.directory.groups import Groups

        return Groups(self)

    @cached_property
    def applications(self) -> Applications:
        from corestore.directory.applications import Applications

        return Applications(self)

    @cached_property
    def service_principals(self) -> ServicePrincipals:
        from corestore.directory.applications import ServicePrincipals

        return ServicePrincipals(self)

    @cached_property
    def devices(self) -> Devices:
        from corestore.directory.devices import Devices

        return Devices(self)

    @cached_property
    def sign_ins(self) -> SignIns:
        from corestore.directory.sign_ins import SignIns

        return SignIns(self)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction on the primary; once committed, `self.token` covers it."""
        primary = self.store.router.write_target(self.unit)
        try:
            async with self.store.engines.get(primary.name).connect() as conn:
                async with conn.begin():
                    session = Session(bind=conn)
                    await session.execute(SET_TENANT, {"tenant": str(self.tenant_id)})
                    yield session
                    await session.flush()
                    await session.close()
                lsn = await _driver(await conn.get_raw_connection()).fetchval(
                    "SELECT pg_current_wal_lsn()::text"
                )
        except IntegrityError as exc:
            raise _integrity_error(exc) from None
        except DBAPIError as exc:
            if isinstance(exc.orig, UNREACHABLE) or exc.connection_invalidated:
                raise Unavailable(f"primary of {self.unit.id} is unreachable") from None
            raise
        except UNREACHABLE:
            raise Unavailable(f"primary of {self.unit.id} is unreachable") from None
        self.last_server = primary.name
        self.token = ConsistencyToken(self.unit.id, lsn_position(str(lsn)))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[ReadConnection]:
        """A read transaction on the nearest server that can serve it, tenant set.

        Only reaching a server is retried on the next one; an error in the caller's
        own work propagates.
        """
        last_error: BaseException | None = None
        for server in self.store.router.read_order(self.unit):
            stack = AsyncExitStack()
            try:
                conn = await stack.enter_async_context(self._read_on(server))
            except UNREACHABLE as exc:
                await stack.aclose()
                self.store.router.health.mark_down(server.name)
                last_error = exc
                continue
            if conn is None:
                await stack.aclose()
                continue
            async with stack:
                yield conn
            return
        raise Unavailable(f"no server of {self.unit.id} can serve reads: {last_error}")

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """One-statement read; if its server dies mid-query, the next one answers it."""
        rows = await self._retrying(lambda conn: conn.fetchrow(sql, *args))
        return rows  # type: ignore[no-any-return]

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        rows = await self._retrying(lambda conn: conn.fetch(sql, *args))
        return rows  # type: ignore[no-any-return]

    async def _retrying(self, query: Callable[[ReadConnection], Awaitable[Any]]) -> Any:
        """Reads are idempotent: a connection lost during one is retried, once per server."""
        for _ in self.unit.servers:
            try:
                async with self.read() as conn:
                    return await query(conn)
            except UNREACHABLE:
                if self.last_server is not None:
                    self.store.router.health.mark_down(self.last_server)
        raise Unavailable(f"no server of {self.unit.id} could finish the read")

    @asynccontextmanager
    async def _read_on(self, server: Server) -> AsyncIterator[ReadConnection | None]:
        """A connection in a read-only transaction, or None if this replica lags too far."""
        pool = await self.store.engines.reader(server.name)
        async with pool.acquire(timeout=CONNECT_TIMEOUT_S) as conn:
            await conn.execute(begin_read_only(self.tenant_id))
            try:
                if server is not self.unit.primary and not await self._caught_up(conn):
                    yield None
                else:
                    self.last_server = server.name
                    yield conn
            except BaseException:
                if not conn.is_closed():
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def _caught_up(self, conn: ReadConnection) -> bool:
        """Whether this replica has replayed our last write (waiting a bounded while)."""
        if self.token is None:
            return True
        deadline = time.monotonic() + CONSISTENCY_WAIT_S
        delay = 0.001
        while not await conn.fetchval(CAUGHT_UP_SQL, self.token.lsn):
            if time.monotonic() + delay > deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True


def _driver(pooled: Any) -> asyncpg.Connection:
    """The asyncpg connection under SQLAlchemy's pooled one: the hot path uses it directly."""
    conn: asyncpg.Connection = pooled.driver_connection
    return conn


UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"


def _integrity_error(exc: IntegrityError) -> Exception:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    detail = str(getattr(exc.orig, "__cause__", None) or exc.orig).splitlines()[-1]
    if code == UNIQUE_VIOLATION:
        return Conflict(f"already exists: {detail}")
    if code == FOREIGN_KEY_VIOLATION:
        return InvalidRequest(f"refers to an object that does not exist: {detail}")
    return InvalidRequest(f"refused by a constraint: {detail}")
