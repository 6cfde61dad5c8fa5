"""One real cluster for the whole session: started once, stopped at the end."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from corestore.session import TenantSession
from corestore.sign_in_log import SignInRecord
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.interrupt import terminate_as_interrupt
from scale_units.state import ClusterState
from tests.cluster import temp_cluster

# A CI timeout or `kill` sends SIGTERM: as an interrupt, fixtures still stop their servers.
terminate_as_interrupt()


@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterState]:
    with temp_cluster() as state:
        yield state


@pytest.fixture(scope="session")
def spare_cluster() -> Iterator[ClusterState]:
    """A second cluster of the default topology, started on first use: fresh for the quick bench
    (tests/bench, as a user's first run finds one), then the failover tests' to kill servers of."""
    with temp_cluster() as state:
        yield state


@pytest_asyncio.fixture(scope="session")
async def store(cluster: ClusterState) -> AsyncIterator[CoreStore]:
    """A library user in westeurope: EMEA reads are local, North American ones cross the ocean."""
    store = CoreStore(cluster, cluster.discover(), region="westeurope")
    yield store
    await store.close()


async def log_sign_in(store: CoreStore, session: TenantSession, principal: str) -> None:
    """A sign-in row for the session's tenant, written as the front end's background writer does."""
    record = SignInRecord(
        session.tenant_id, session.unit.id, datetime.now(UTC), "success", principal, "westeurope"
    )
    assert await store.sign_in_log.write([record]) == []


@pytest.fixture
def random_name() -> str:
    """A name no other test uses, so tests never collide on shared servers."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def tenant(store: CoreStore, random_name: str) -> Tenant:
    """A fresh tenant per test (in EMEA), so tests never see each other's rows."""
    return await store.operator.create_tenant(random_name, "FR", domains=(f"{random_name}.example",))


@pytest_asyncio.fixture
async def session(store: CoreStore, tenant: Tenant) -> TenantSession:
    return await store.operator.session(tenant.id)
