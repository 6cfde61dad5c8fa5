"""Round trips per library call, counted on the wire: what a read and a write cost in messages.

A store with one connection per server; every statement asyncpg sends on those
connections is logged (`add_query_logger`). Each call runs twice and the second is
counted, so connecting and preparing statements (once per connection) are not.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from bench.db.rows import Row
from corestore.errors import NotFound
from corestore.session import TenantSession
from corestore.store import CoreStore
from scale_units.model.geography import Cloud
from scale_units.model.topology import Topology
from scale_units.model.types import RegionName
from scale_units.state import ClusterState

# How long the counted reads wait for the user they read to reach their replica: 5 s at most.
VISIBLE_ATTEMPTS = 100
VISIBLE_PAUSE_S = 0.05


@dataclass(frozen=True)
class RoundTrips:
    """Statements (each one round trip) sent for one library call, by kind of call."""

    read: int  # users.get, no write of this session to wait for
    read_after_write: int  # users.get on a replica, after this session wrote
    list_page: int  # users.list with a $filter
    create: int  # users.create
    update: int  # users.update

    def to_json(self) -> dict[str, int]:
        return asdict(self)


async def count_round_trips(
    state: ClusterState, topology: Topology, region: RegionName, row: Row
) -> RoundTrips:
    """Counted in the tenant of `row` (a `bench-` tenant); the users it makes stay in it."""
    store = CoreStore(state, topology, region=region, pool_size=1)
    sent: list[str] = []
    unit = store.topology.scale_units[row.scale_unit]
    tenant_id = row.tenant_id
    try:
        for server in unit.servers:
            pool = store.pools.get(server.name)
            async with pool.acquire() as conn:
                conn.add_query_logger(lambda record: sent.append(record.query))

        async def counted(call: Callable[[TenantSession], Awaitable[object]]) -> int:
            for _ in range(2):
                session = await store.operator.session(tenant_id, unit.cloud)
                sent.clear()
                await call(session)
                await asyncio.sleep(0)  # asyncpg calls a query logger on the loop's next turn
            return len(sent)

        name = f"rt-{uuid.uuid4().hex[:8]}"
        user = await (await store.operator.session(tenant_id, unit.cloud)).users.create(
            user_principal_name=f"{name}@{name}.example", display_name=name
        )
        await _visible_to_new_sessions(store, tenant_id, unit.cloud, user.id)

        async def read_after_write(session: TenantSession) -> None:
            await session.users.update(user.id, {"display_name": name})
            await asyncio.sleep(0)
            sent.clear()
            await session.users.get(user.id)

        return RoundTrips(
            read=await counted(lambda s: s.users.get(user.id)),
            read_after_write=await counted(read_after_write),
            list_page=await counted(lambda s: s.users.list(filter=f"displayName eq '{name}'", top=10)),
            create=await counted(
                lambda s: s.users.create(
                    user_principal_name=f"{uuid.uuid4().hex[:12]}@{name}.example", display_name=name
                )
            ),
            update=await counted(lambda s: s.users.update(user.id, {"display_name": name})),
        )
    finally:
        await store.close()


async def _visible_to_new_sessions(
    store: CoreStore, tenant_id: uuid.UUID, cloud: Cloud, user_id: uuid.UUID
) -> None:
    """The counted reads run in new sessions, which carry no commit position: wait (bounded) until
    the replica they read from has the user, so a read is never counted against a replay still under way."""
    for _ in range(VISIBLE_ATTEMPTS):
        try:
            await (await store.operator.session(tenant_id, cloud)).users.get(user_id)
            return
        except NotFound:
            await asyncio.sleep(VISIBLE_PAUSE_S)
    raise RuntimeError(f"user {user_id} never reached the replica the counted reads use")
