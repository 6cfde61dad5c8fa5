"""A tenant's move to another scale unit of its geo, online, in the manner of Citus's
shard moves.

copy     a publication of the tenant's rows on the source (a row filter on tenant_id), a
         slot at a snapshot, the rows at that snapshot copied at a bounded rate (`copy`),
         then a subscription on the target from the slot: the source's changes since, in
         commit order; a mark written on the source and seen on the target says it caught up.
fence    the source refuses the tenant's writes, in its database (`source.fence`); a
         second mark, seen on the target, says it has every acknowledged write.
verify   per table, row count and checksum on both primaries: in full at a checkpoint
         before the fence, inside it only the rows written since (`verify`).
flip     the target's replicas have replayed it all, the source refuses reads too, and
         one catalog transaction names the target and raises the epoch: requests the
         source refuses follow the catalog there.
clean    the subscription, publication and slot dropped; the source's rows removed.

The flip is the commit point: a rerun after a failure (or a killed mover) undoes a
move that had not flipped and finishes one that had.
One module over 300 lines on purpose: the five steps and the rerun that resumes them are
one state machine, read in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg

from corestore.catalog import Catalog, CatalogEntry, TenantState
from corestore.errors import InvalidRequest, LocationImmutable, TenantNotFound, Unavailable
from corestore.moves import copy, verify
from corestore.moves import source as src
from corestore.moves import target as dst
from corestore.moves.ledger import Ledger, PendingMove, Phase, exclusive
from corestore.moves.tables import TableSummary, delete_rows, tenant_tables
from corestore.roles import DIRECTORY_DB, dsn
from corestore.servers.unit_discovery import UnitDiscovery
from scale_units.leaders import leader, member_views
from scale_units.model.geography import Cloud
from scale_units.model.topology import ScaleUnit, Server
from scale_units.model.types import ScaleUnitId
from scale_units.routing import Router

log = logging.getLogger(__name__)
COPY_TIMEOUT_S = 3600.0  # a copy slower than that is stuck, not paced
DEFAULT_COPY_MIB_S = 4.0  # see corestore.moves.copy; None: unpaced
CATCH_UP_S = 60.0  # before the fence: the changes made during the copy
FENCED_CATCH_UP_S = 10.0  # inside the fence: the last few transactions
REPLAY_WAIT_S = 5.0
REPLAYED_SQL = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class MoveReport:
    tenant: uuid.UUID
    source: ScaleUnitId
    target: ScaleUnitId
    rows: int
    bytes: int
    seconds: float
    fence_ms: float
    epoch: int


def quiet(line: str) -> None:
    """Progress to the log only (a library caller)."""
    log.info("%s", line)


class Mover:
    """Moves tenants between the scale units of one cluster (the operator context's tool)."""

    def __init__(self, units: UnitDiscovery, router: Router, catalog: Callable[[Cloud], Catalog]) -> None:
        """`units`: a unit added to the cluster after this process started is found there."""
        self._units = units
        self._router = router
        self._catalog = catalog

    async def move(
        self,
        tenant_id: uuid.UUID,
        unit_id: ScaleUnitId,
        progress: Progress = quiet,
        copy_mib_s: float | None = DEFAULT_COPY_MIB_S,
    ) -> MoveReport:
        """`copy_mib_s`: the copy's rate (None: as fast as the primaries go)."""
        if copy_mib_s is not None and copy_mib_s <= 0:
            raise InvalidRequest(f"a copy rate must be positive (MiB/s), not {copy_mib_s}")
        started = time.monotonic()
        unit = await self._units.find(unit_id)
        if unit is None:
            raise InvalidRequest(f"no scale unit {unit_id!r} in this cluster")
        catalog = self._catalog(unit.cloud)
        entry = await self._entry(tenant_id, unit)
        async with exclusive(catalog, tenant_id) as book:
            pending = await book.pending()
            if pending is not None:
                await self._resolve(book, pending, progress)
                entry = await self._entry(tenant_id, unit)
            if entry.placement.scale_unit == unit_id:
                if pending is not None and pending.phase is Phase.FLIPPED and pending.target == unit_id:
                    return MoveReport(tenant_id, pending.source, unit_id, 0, 0, 0.0, 0.0, await book.epoch())
                raise InvalidRequest(f"tenant {tenant_id} is already on {unit_id}")
            await book.check_target(unit_id)
            source = entry.placement.scale_unit
            await book.begin(source, unit_id)
            return await self._run(book, source, unit, copy_mib_s, progress, started)

    async def _entry(self, tenant_id: uuid.UUID, unit: ScaleUnit) -> CatalogEntry:
        """The tenant, fresh from the catalog; a unit of another geo or cloud is refused
        before anything is copied."""
        for cloud in self._router.topology.clouds():
            catalog = self._catalog(cloud)
            catalog.forget(tenant_id)
            entry = await catalog.lookup(tenant_id)
            if entry is None:
                continue
            if entry.state is not TenantState.ACTIVE:
                raise InvalidRequest(f"tenant {tenant_id} is {entry.state.value}, not active")
            here = entry.placement
            if (here.cloud, here.geo) != (unit.cloud, unit.geo):
                raise LocationImmutable(
                    f"a tenant's location cannot change after it is set: tenant {tenant_id} lives in "
                    f"{here.cloud.value}/{here.geo.value}, scale unit {unit.id} in "
                    f"{unit.cloud.value}/{unit.geo.value} (a move stays in the tenant's cloud and geo)"
                )
            return entry
        raise TenantNotFound(f"no tenant {tenant_id} in this cluster")

    async def _run(
        self,
        book: Ledger,
        source: ScaleUnitId,
        unit: ScaleUnit,
        copy_mib_s: float | None,
        progress: Progress,
        started: float,
    ) -> MoveReport:
        tenant_id, flipped = book.tenant_id, False
        source_unit = await self._units.unit(source)
        try:
            source_primary = await self._primary(source_unit)
            target_primary = await self._primary(unit)
            async with self._connect(source_primary) as s, self._connect(target_primary) as d:
                await src.require_logical(s, source)
                tables = await tenant_tables(s)
                progress(f"copy: {tenant_id} from {source} to {unit.id}, {len(tables)} tables")
                await dst.unsubscribe(d, tenant_id)
                await src.drop_publication(s, tenant_id)
                await delete_rows(d, tenant_id, tables)  # a copy an earlier attempt left
                await src.publish(s, tenant_id, tables)
                source_dsn = dsn(self._units.state, source_primary, "superuser", DIRECTORY_DB)
                await copy.export_slot(source_dsn, tenant_id, s)
                await self._copy(s, d, tenant_id, tables, copy_mib_s, progress)
                await dst.subscribe(d, tenant_id, source_dsn)
                await dst.analyze(d, tables)
                caught_up = time.monotonic()
                await dst.wait_for_mark(d, tenant_id, await src.mark(s, tenant_id), CATCH_UP_S)
                progress(
                    f"catch-up: the target applied the changes made during the copy in "
                    f"{(time.monotonic() - caught_up) * 1000:.0f} ms"
                )
                checked = time.monotonic()
                async with self._connect(source_primary) as lock:
                    verified = await verify.checkpoint(lock, s, d, tenant_id, tables)
                progress(
                    f"verify: {sum(t.rows for t in verified.summaries.values())} rows equal on both sides "
                    f"at a checkpoint in {(time.monotonic() - checked) * 1000:.0f} ms "
                    f"(writes waited {verified.paused_ms:.0f} ms, {verified.attempts} attempt(s))"
                )
                async with (
                    self._replicas(source_unit, source_primary) as source_replicas,
                    self._replicas(unit, target_primary) as target_replicas,
                ):
                    sides = (source_unit, source_replicas), (unit, target_replicas)
                    epoch, summaries, fence_ms = await self._fence_and_flip(
                        book, s, d, sides, verified, progress
                    )
                flipped = True
                rows = sum(t.rows for t in summaries.values())
                await self._clean(s, d, tenant_id, tables, progress)
            await book.end()
        except BaseException:
            if not flipped:
                await asyncio.shield(self._undo_quietly(book, source_unit, unit, progress))
            raise
        size = sum(t.bytes for t in summaries.values())
        return MoveReport(tenant_id, source, unit.id, rows, size, time.monotonic() - started, fence_ms, epoch)

    async def _fence_and_flip(
        self,
        book: Ledger,
        s: asyncpg.Connection,
        d: asyncpg.Connection,
        sides: tuple[tuple[ScaleUnit, list[asyncpg.Connection]], tuple[ScaleUnit, list[asyncpg.Connection]]],
        verified: verify.Checkpoint,
        progress: Progress,
    ) -> tuple[int, dict[str, TableSummary], float]:
        """From the fence to the flip (what writers wait through): the epoch, the summaries, the
        fence's length in ms."""
        (source_unit, source_replicas), (unit, target_replicas) = sides
        tenant_id, tables = book.tenant_id, tuple(verified.summaries)
        epoch = await book.epoch() + 1
        await book.set_phase(Phase.FENCED)
        steps: dict[str, float] = {}
        fenced = lap = time.monotonic()

        def step(name: str) -> None:
            nonlocal lap
            steps[name], lap = (time.monotonic() - lap) * 1000, time.monotonic()

        mark = await src.fence(s, tenant_id, unit.id, epoch)
        step("fence")
        progress("fence: the source refuses the tenant's writes; the last changes follow")
        await dst.wait_for_mark(d, tenant_id, mark, FENCED_CATCH_UP_S)
        step("catch-up")
        summaries = await verify.fenced(s, d, tenant_id, tables, verified)
        step("verify")
        await _replayed(target_replicas, await dst.take_over(d, tenant_id, epoch))
        await _replayed(source_replicas, await src.mark_moved(s, tenant_id, unit.id, epoch))
        step("replicas")
        epoch = await book.flip(source_unit.id, unit.id)
        step("flip")
        fence_ms = (time.monotonic() - fenced) * 1000
        rows = sum(t.rows for t in summaries.values())
        detail = ", ".join(f"{name} {ms:.0f}" for name, ms in steps.items())
        progress(
            f"flip: {unit.id} serves the tenant (epoch {epoch}); writes fenced {fence_ms:.0f} ms "
            f"({detail}); {rows} rows verified in {len(tables)} tables"
        )
        return epoch, summaries, fence_ms

    async def _copy(
        self,
        s: asyncpg.Connection,
        d: asyncpg.Connection,
        tenant_id: uuid.UUID,
        tables: tuple[str, ...],
        copy_mib_s: float | None,
        progress: Progress,
    ) -> None:
        try:
            async with asyncio.timeout(COPY_TIMEOUT_S):
                await copy.copy_tables(s, d, tenant_id, tables, copy.Pace(copy_mib_s), progress)
        except TimeoutError:
            raise Unavailable(f"the copy did not finish within {COPY_TIMEOUT_S:.0f} s") from None

    async def _resolve(self, book: Ledger, pending: PendingMove, progress: Progress) -> None:
        """An earlier mover died: finish its move if it flipped, else undo it."""
        source_unit, target_unit = (
            await self._units.unit(pending.source),
            await self._units.unit(pending.target),
        )
        if pending.phase is not Phase.FLIPPED:
            progress(f"undo: an unfinished move to {pending.target} (it had not flipped)")
            await self._undo(book, source_unit, target_unit)
            return
        progress(f"finish: the move to {pending.target} had flipped; cleaning up")
        epoch = await book.epoch()
        async with self._connect(await self._primary(source_unit)) as s:
            await src.fence(s, book.tenant_id, pending.target, epoch)
            await src.mark_moved(s, book.tenant_id, pending.target, epoch)
            tables = await tenant_tables(s)
            async with self._connect(await self._primary(target_unit)) as d:
                await self._clean(s, d, book.tenant_id, tables, progress)
        await book.end()

    async def _clean(
        self,
        s: asyncpg.Connection,
        d: asyncpg.Connection,
        tenant_id: uuid.UUID,
        tables: tuple[str, ...],
        progress: Progress,
    ) -> None:
        await dst.unsubscribe(d, tenant_id)
        await src.drop_publication(s, tenant_id)
        removed = await delete_rows(s, tenant_id, tables)
        progress(f"clean: subscription and publication dropped, {removed} rows removed from the source")

    async def _undo(self, book: Ledger, source_unit: ScaleUnit, target_unit: ScaleUnit) -> None:
        """Back to before the move: the source serves writes again, the target holds nothing."""
        tenant_id = book.tenant_id
        async with self._connect(await self._primary(target_unit)) as d:
            await dst.unsubscribe(d, tenant_id)
            async with self._connect(await self._primary(source_unit)) as s:
                await src.lift(s, tenant_id)
                await src.drop_publication(s, tenant_id)
            await delete_rows(d, tenant_id, await tenant_tables(d))
        await book.end()

    async def _undo_quietly(
        self, book: Ledger, source_unit: ScaleUnit, target_unit: ScaleUnit, progress: Progress
    ) -> None:
        """Undo after a failure; if even that fails, the source's fence is lifted at least, and
        the ledger keeps the move for a rerun to undo."""
        try:
            await self._undo(book, source_unit, target_unit)
            progress("undo: the move was rolled back; the tenant stays on its unit")
        except Exception as exc:
            progress(f"undo incomplete ({exc}); run the move again to finish undoing it")
            with contextlib.suppress(Exception):
                async with self._connect(await self._primary(source_unit)) as s:
                    await src.lift(s, book.tenant_id)

    async def _primary(self, unit: ScaleUnit) -> Server:
        views = await member_views({s.name: self._units.state.apis[s.name] for s in unit.servers})
        found = leader(unit, views)
        if found is None:
            raise Unavailable(f"scale unit {unit.id} has no primary now")
        return next(s for s in unit.servers if s.name == found.name)

    @contextlib.asynccontextmanager
    async def _connect(self, server: Server) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self._units.state.connect(server, DIRECTORY_DB) as conn:
                yield conn
        except (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError) as exc:
            raise Unavailable(f"{server.name} is unreachable: {exc}") from None
        except asyncpg.InterfaceError as exc:  # "connection is closed": the server died mid-move
            raise Unavailable(f"{server.name} went away during the move: {exc}") from None

    @contextlib.asynccontextmanager
    async def _replicas(self, unit: ScaleUnit, primary: Server) -> AsyncIterator[list[asyncpg.Connection]]:
        """Connections to the unit's reachable replicas, opened before the fence (not inside it)."""
        async with contextlib.AsyncExitStack() as stack:
            found = []
            for server in unit.servers:
                if server.name != primary.name:
                    with contextlib.suppress(OSError, TimeoutError, asyncpg.PostgresError):
                        found.append(
                            await stack.enter_async_context(self._units.state.connect(server, DIRECTORY_DB))
                        )
            yield found


async def _replayed(replicas: list[asyncpg.Connection], lsn: str) -> None:
    """Each replica has replayed `lsn` (bounded): reads routed there after the flip see
    everything before it. A replica that fails serves nobody."""
    deadline = time.monotonic() + REPLAY_WAIT_S
    for conn in replicas:
        with contextlib.suppress(OSError, TimeoutError, asyncpg.PostgresError):
            while time.monotonic() < deadline:
                if await conn.fetchval(REPLAYED_SQL, lsn):
                    break
                await asyncio.sleep(dst.POLL_S)
