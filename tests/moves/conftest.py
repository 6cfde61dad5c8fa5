"""One cluster of two EMEA scale units for every move test (started once for the package)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from corestore.session import TenantSession
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.model.loader import default_topology_path
from scale_units.state import ClusterState
from tests.cluster import temp_cluster

TOPOLOGY = default_topology_path("two_units")
UNITS = ("emea-1", "emea-2")


@pytest.fixture(scope="package")
def units_cluster() -> Iterator[ClusterState]:
    with temp_cluster(TOPOLOGY) as state:
        yield state


@pytest_asyncio.fixture(scope="package")
async def units_store(units_cluster: ClusterState) -> AsyncIterator[CoreStore]:
    store = CoreStore(units_cluster, units_cluster.discover(), region="westeurope")
    yield store
    await store.close()


@pytest_asyncio.fixture
async def moving(units_store: CoreStore, random_name: str) -> Tenant:
    return await units_store.operator.create_tenant(random_name, "FR", domains=(f"{random_name}.example",))


def other_unit(unit: str) -> str:
    """The other one of the two units."""
    return next(u for u in UNITS if u != unit)


async def with_users(store: CoreStore, tenant: Tenant, name: str, count: int) -> TenantSession:
    """A session of `tenant` after it created `count` users (u0@name.example, ...)."""
    session = await store.operator.session(tenant.id)
    for n in range(count):
        await session.users.create(user_principal_name=f"u{n}@{name}.example", display_name=f"u{n}")
    return session
