"""A tenant session: the only way to reach directory data, bound to one tenant.

It is made from a verified token's claims (`CoreStore.session`) or, for tooling,
by the operator context (`CoreStore.operator.session`), never from request data.
A read is one statement calling a tenant function (it sets the tenant itself, see
migration directory_0002) on the nearest healthy replica that has replayed this
session's writes. A write is one transaction on the primary whose first statement
sets the tenant; once committed it moves the session's commit position.
One module over 300 lines on purpose: reads and writes share the session's routing,
deadlines and commit position, and each is only right read beside the other.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from corestore.deadlines import Deadline
from corestore.directory.applications import Applications, ServicePrincipals
from corestore.directory.assertions import ClientAssertions
from corestore.directory.assignments import AppRoleAssignments
from corestore.directory.audits import DirectoryAudits
from corestore.directory.deleted_items import DeletedItems
from corestore.directory.devices import Devices
from corestore.directory.grants import Grants
from corestore.directory.groups import Groups
from corestore.directory.organization import Organizations
from corestore.directory.sign_ins import SignIns
from corestore.directory.users import Users
from corestore.errors import CommitUncertain, Conflict, InvalidRequest, TenantMoved, Unavailable
from corestore.pools import Connection, Pools
from corestore.rls import begin_for_tenant
from corestore.servers.pool import ServerPool
from corestore.servers.stats import StoreStats
from corestore.types import Actor, CommitPosition, Placement
from scale_units.model.geography import Cloud
from scale_units.model.topology import ScaleUnit
from scale_units.model.types import lsn_position
from scale_units.routing import Router

CONSISTENCY_WAIT_S = 1.0
READ_TIMEOUT_S = 5.0  # a connection and a read: past it the server counts as unreachable
AFTERWORD_TIMEOUT_S = 2.0  # a one-row statement after the work: the commit's position, a rollback
WRITE_DEADLINE_S = 5.0  # connecting, BEGIN and the caller's statements
COMMIT_WAIT_S = 5.0  # the commit, which waits for a quorum replica
# A server gone, going, or out of reach; never an error in the statement or its data. A
# connection whose protocol broke as its server went (asyncpg: "another operation is in
# progress") counts too: it was met as a replica died under load, and answered 500.
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InternalClientError,
)
CAUGHT_UP_SQL = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"
MOVED_SQLSTATE = "CS001"  # raised by corestore.enter_tenant (migration directory_0006)
MOVE_WAIT_S = 3.0  # how long a fenced request waits for the move's catalog flip
MOVE_POLL_S = 0.05
# The tenant's scale unit in a cloud and its epoch as the catalog says now (its cache forgotten).
Relocate = Callable[[uuid.UUID, Cloud], Awaitable[tuple[ScaleUnit, int]]]
COMMIT_LSN_SQL = "SELECT pg_current_wal_lsn()::text"


class TenantSession:
    """Implements `TenantHandle` for its repositories."""

    def __init__(
        self,
        tenant_id: uuid.UUID,
        unit: ScaleUnit,
        pools: Pools,
        router: Router,
        secret_key: bytes,
        stats: StoreStats,
        consistency: CommitPosition | None = None,
        relocate: Relocate | None = None,
        epoch: int = 0,
    ) -> None:
        self.tenant_id = tenant_id
        self.unit = unit
        self._pools = pools
        self._router = router
        self._secret_key = secret_key
        self._relocate = relocate
        self.epoch = epoch  # the placement's: a delta token of another epoch cannot be honoured
        self.consistency = consistency if consistency and consistency.scale_unit == unit.id else None
        self.last_server: str | None = None
        self._actor: Actor | None = None
        self._actor_of: Callable[[], Actor] | None = None
        self._stats = stats

    @property
    def actor(self) -> Actor | None:
        """Who this session's writes are audited as (None: tooling, no one)."""
        if self._actor is None and self._actor_of is not None:
            self._actor = self._actor_of()
        return self._actor

    @actor.setter
    def actor(self, actor: Actor | None) -> None:
        self._actor, self._actor_of = actor, None

    def audit_as(self, actor_of: Callable[[], Actor]) -> None:
        """Who this session's writes are audited as, worked out at its first write: a request that
        only reads never builds it."""
        self._actor, self._actor_of = None, actor_of

    @property
    def quorum_lost(self) -> bool:
        """Whether this tenant's primary commits with no replica confirming (last seen by the monitor)."""
        return self.unit.id in self._router.health.quorum_lost

    @property
    def placement(self) -> Placement:
        return Placement(self.unit.cloud, self.unit.geo, self.unit.id, self.epoch)

    # Repositories are stateless views on this session, made when asked: a session lives for one
    # request, and `cached_property` would take a lock (Python 3.11) to remember one.
    @property
    def users(self) -> Users:
        return Users(self)

    @property
    def groups(self) -> Groups:
        return Groups(self)

    @property
    def applications(self) -> Applications:
        return Applications(self, self._secret_key)

    @property
    def service_principals(self) -> ServicePrincipals:
        return ServicePrincipals(self)

    @property
    def app_role_assignments(self) -> AppRoleAssignments:
        return AppRoleAssignments(self)

    @property
    def devices(self) -> Devices:
        return Devices(self)

    @property
    def sign_ins(self) -> SignIns:
        return SignIns(self)

    @property
    def organization(self) -> Organizations:
        return Organizations(self)

    @property
    def directory_audits(self) -> DirectoryAudits:
        return DirectoryAudits(self)

    @property
    def deleted_items(self) -> DeletedItems:
        return DeletedItems(self)

    @property
    def grants(self) -> Grants:
        return Grants(self)

    @property
    def client_assertions(self) -> ClientAssertions:
        return ClientAssertions(self)

    async def fetch(self, sql: str, *args: Any, primary: bool = False) -> list[asyncpg.Record]:
        """A read that reaches a unit the tenant has left follows it once (reads are idempotent).
        `primary`: on the primary alone, for a check a lagging replica must not fail."""
        try:
            return await self._fetch(sql, args, primary)
        except asyncpg.PostgresError as exc:
            if exc.sqlstate != MOVED_SQLSTATE:
                raise
            why = str(exc)
        await self._follow(why)
        return await self._fetch(sql, args, primary)

    async def fetch_primary(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.fetch(sql, *args, primary=True)

    async def _follow(self, why: str) -> None:
        """Rebind to the tenant's new unit once the catalog shows it (a move's flip comes
        moments after its fence); a bounded wait, then `TenantMoved`."""
        deadline = time.monotonic() + MOVE_WAIT_S
        while self._relocate is not None and time.monotonic() < deadline:
            unit, epoch = await self._relocate(self.tenant_id, self.unit.cloud)
            if unit.id != self.unit.id:
                # The move waited for the target's replicas before its flip: no position needed.
                self.unit, self.epoch, self.consistency = unit, epoch, None
                return
            await asyncio.sleep(MOVE_POLL_S)
        raise TenantMoved(f"{why}; nothing was written, try again")

    async def _fetch(self, sql: str, args: tuple[Any, ...], primary_only: bool) -> list[asyncpg.Record]:
        """Reads are idempotent: a server that cannot be reached, or dies mid-read, is marked
        down and the next one answers; a replica that has not replayed this session's last
        write in time is passed over. An error in the statement itself propagates.

        One deadline covers taking a connection and the read, a `Deadline`, not a timer: timers
        cost more than the statement's own Python on this path, as would a frame per server."""
        router = self._router
        primary = router.write_target(self.unit)
        last_error: BaseException | None = None
        for server in (primary,) if primary_only else router.read_order(self.unit):
            is_primary = server.name == primary.name
            position = None if is_primary else self.consistency
            pool = self._pools.get(server.name)
            try:
                with Deadline(READ_TIMEOUT_S):
                    conn = await pool.take()
                    try:
                        if position is not None and not await self._caught_up(conn, position):
                            continue
                        rows = await conn.fetch(sql, *args)
                    except BaseException as exc:
                        if not isinstance(exc, asyncpg.PostgresError):
                            conn.terminate()  # cut off or broken mid-statement: lent to no one again
                        raise
                    finally:
                        pool.give(conn)
            except UNREACHABLE as exc:
                router.health.mark_down(server.name)
                last_error = exc
                continue
            self.last_server = server.name
            self._stats.read(server.name, is_primary)
            return rows
        if primary_only:
            raise Unavailable(f"primary of {self.unit.id} is unreachable")
        raise Unavailable(f"no server of {self.unit.id} can serve reads: {last_error}")

    async def _caught_up(self, conn: Connection, position: CommitPosition) -> bool:
        """Whether this replica has replayed `position`, our last write (waiting a bounded while)."""
        if await conn.fetchval(CAUGHT_UP_SQL, position.lsn):
            return True
        started = time.monotonic()
        deadline = started + CONSISTENCY_WAIT_S
        delay = 0.001
        try:
            while time.monotonic() + delay <= deadline:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
                if await conn.fetchval(CAUGHT_UP_SQL, position.lsn):
                    return True
            return False
        finally:
            self._stats.waited(time.monotonic() - started)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        """Nothing is committed unless the block ends normally; a commit that does not come
        back in time, or whose connection breaks, raises `CommitUncertain` (it may have
        committed: PostgreSQL commits locally before it waits for the quorum). A unit that
        fenced the tenant for a move refuses at BEGIN: the write follows it once."""
        try:
            pool, conn = await self._begin()
        except TenantMoved as exc:
            await self._follow(str(exc))
            pool, conn = await self._begin()
        try:
            try:
                async with asyncio.timeout(WRITE_DEADLINE_S):
                    try:
                        yield conn
                    except BaseException:
                        await _roll_back(conn)
                        raise
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise _integrity_error(exc) from None
            except UNREACHABLE:
                raise Unavailable(f"primary of {self.unit.id} failed; nothing was written") from None
            try:
                await conn.execute("COMMIT", timeout=COMMIT_WAIT_S)
            except UNREACHABLE:
                raise self._uncertain() from None
            await self._committed(conn)
        finally:
            pool.give(conn)

    async def write_one(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """One statement that enters the tenant itself (`rls.entered`), committed on its own: the
        statement with its commit, then the commit's position. Past its start any break may have
        committed (`CommitUncertain`); a fenced tenant refuses it (nothing written) and it follows once."""
        try:
            return await self._write_one(sql, args)
        except TenantMoved as exc:
            await self._follow(str(exc))
            return await self._write_one(sql, args)

    async def _write_one(self, sql: str, args: tuple[Any, ...]) -> asyncpg.Record | None:
        pool, conn = await self._primary_connection()
        try:
            try:
                row = await conn.fetchrow(sql, *args, timeout=WRITE_DEADLINE_S + COMMIT_WAIT_S)
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise _integrity_error(exc) from None
            except asyncpg.PostgresError as exc:
                if exc.sqlstate == MOVED_SQLSTATE:
                    raise TenantMoved(str(exc)) from None
                raise
            except UNREACHABLE:
                raise self._uncertain() from None
            await self._committed(conn)
            return row
        finally:
            pool.give(conn)

    def _uncertain(self) -> CommitUncertain:
        self._stats.commits_uncertain += 1
        return CommitUncertain(
            f"the commit on {self.unit.id} did not complete in time; it may have committed"
        )

    async def _committed(self, conn: Connection) -> None:
        """After a commit: counted, and its WAL position is this session's commit position."""
        self.last_server = self._router.write_target(self.unit).name
        self._stats.commits += 1
        try:
            lsn = await conn.fetchval(COMMIT_LSN_SQL, timeout=AFTERWORD_TIMEOUT_S)
        except UNREACHABLE:
            return  # committed; this session's next reads just do not wait for it
        self.consistency = CommitPosition(self.unit.id, lsn_position(str(lsn)))

    async def _primary_connection(self) -> tuple[ServerPool, Connection]:
        primary = self._router.write_target(self.unit)
        try:
            async with asyncio.timeout(WRITE_DEADLINE_S):
                pool = self._pools.get(primary.name)
                return pool, await pool.take()
        except UNREACHABLE:
            raise Unavailable(f"primary of {self.unit.id} is unreachable; nothing was written") from None

    async def _begin(self) -> tuple[ServerPool, Connection]:
        """A connection of the primary in a transaction with the tenant entered, or
        `TenantMoved` (connection released) when a move fenced the tenant there."""
        pool, conn = await self._primary_connection()
        try:
            async with asyncio.timeout(WRITE_DEADLINE_S):
                await conn.execute(begin_for_tenant(self.tenant_id, self.actor))
        except asyncpg.PostgresError as exc:
            await _roll_back(conn)
            pool.give(conn)
            if exc.sqlstate == MOVED_SQLSTATE:
                raise TenantMoved(str(exc)) from None
            raise
        except UNREACHABLE:
            pool.give(conn)
            raise Unavailable(f"primary of {self.unit.id} failed; nothing was written") from None
        except BaseException:
            await _roll_back(conn)
            pool.give(conn)
            raise
        return pool, conn


async def _roll_back(conn: Connection) -> None:
    """End an unfinished write at once; a connection that cannot even do that is dropped."""
    if conn.is_closed() or not conn.is_in_transaction():
        return
    try:
        await conn.execute("ROLLBACK", timeout=AFTERWORD_TIMEOUT_S)
    except UNREACHABLE:
        conn.terminate()


def _integrity_error(exc: asyncpg.IntegrityConstraintViolationError) -> Exception:
    detail = exc.detail or str(exc)
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict(f"already exists: {detail}")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return InvalidRequest(f"refers to an object that does not exist: {detail}")
    return InvalidRequest(f"refused by a constraint: {detail}")
