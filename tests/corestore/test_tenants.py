"""Tenants: country -> geo -> scale unit, fixed location, domains, capped placement, purge."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from corestore.errors import (
    Conflict,
    InvalidRequest,
    LocationImmutable,
    NoCapacity,
    NotFound,
    TenantNotFound,
)
from corestore.roles import CATALOG_DB, dsn
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.model.geography import Cloud, Geo
from scale_units.state import ClusterState
from tests.conftest import log_sign_in


@pytest.mark.parametrize(
    ("country", "geo", "unit"), [("DE", Geo.EMEA, "emea-1"), ("US", Geo.NORTH_AMERICA, "na-1")]
)
async def test_country_picks_geo_and_scale_unit(
    store: CoreStore, random_name: str, country: str, geo: Geo, unit: str
) -> None:
    tenant = await store.operator.create_tenant(random_name, country)
    assert tenant.placement.geo is geo
    assert tenant.placement.scale_unit == unit
    assert (await store.placement(tenant.id.value, Cloud.PUBLIC)).scale_unit == unit


async def test_geo_without_scale_unit_is_a_clear_error(store: CoreStore) -> None:
    with pytest.raises(NoCapacity, match="worldwide"):
        await store.operator.create_tenant("Brazil Co", "BR")


@pytest.mark.parametrize(("country", "cloud"), [("XX", "public"), ("FR", "mars"), ("FR", "usgov")])
async def test_bad_country_or_cloud_is_refused(store: CoreStore, country: str, cloud: str) -> None:
    with pytest.raises(InvalidRequest):
        await store.operator.create_tenant("Bad", country, cloud)


async def test_location_can_never_change(store: CoreStore, tenant: Tenant) -> None:
    with pytest.raises(LocationImmutable, match="can't be changed"):
        await store.operator.relocate_tenant(tenant.id, country="US")


async def test_domains_resolve_and_are_unique_in_the_cloud(
    store: CoreStore, tenant: Tenant, random_name: str
) -> None:
    catalog = store.catalog(Cloud.PUBLIC)
    assert await catalog.resolve_domain(f"{random_name.upper()}.example") == tenant.id.value
    with pytest.raises(Conflict):
        await store.operator.create_tenant("Squatter", "US", domains=(f"{random_name}.example",))
    assert await catalog.resolve_domain("nobody.example") is None


async def test_failed_create_leaves_nothing_behind(
    store: CoreStore, tenant: Tenant, random_name: str
) -> None:
    catalog = store.catalog(Cloud.PUBLIC)
    before = await catalog.tenant_counts()
    with pytest.raises(Conflict):
        await store.operator.create_tenant("Dup", "FR", domains=(f"{random_name}.example",))
    assert await catalog.tenant_counts() == before


async def test_parallel_creates_never_overfill_a_capped_unit(store: CoreStore, cluster: ClusterState) -> None:
    catalog_dsn = dsn(
        cluster, store.topology.catalog_unit(Cloud.PUBLIC).primary, "owner", "corestore_catalog"
    )
    conn = await asyncpg.connect(catalog_dsn)
    try:
        count = await conn.fetchval("SELECT tenant_count FROM scale_units WHERE id = 'na-1'")
        await conn.execute("UPDATE scale_units SET capacity = $1 WHERE id = 'na-1'", count + 3)
        results = await asyncio.gather(
            *(store.operator.create_tenant(f"race{i}", "CA") for i in range(8)), return_exceptions=True
        )
        created = [r for r in results if isinstance(r, Tenant)]
        refused = [r for r in results if isinstance(r, NoCapacity)]
        assert len(created) == 3
        assert len(refused) == 5
        assert await conn.fetchval("SELECT tenant_count FROM scale_units WHERE id = 'na-1'") == count + 3
    finally:
        await conn.execute("UPDATE scale_units SET capacity = 100000 WHERE id = 'na-1'")
        await conn.close()


async def test_a_draining_unit_takes_no_new_tenants_and_keeps_serving_its_own(
    store: CoreStore, random_name: str
) -> None:
    settled = await store.operator.create_tenant(f"{random_name}-old", "US")
    counts = await store.catalog(Cloud.PUBLIC).tenant_counts()
    await store.operator.set_unit_draining("na-1")
    try:
        with pytest.raises(NoCapacity, match="na-1 draining"):
            await store.operator.create_tenant(random_name, "US")
        assert await store.catalog(Cloud.PUBLIC).tenant_counts() == counts
        session = await store.operator.session(settled.id)
        await session.users.create(user_principal_name=f"a@{random_name}.example", display_name="A")
    finally:
        await store.operator.set_unit_draining("na-1", False)
    assert (await store.operator.create_tenant(random_name, "US")).placement.scale_unit == "na-1"
    with pytest.raises(NotFound, match="no scale unit 'na-9'"):
        await store.operator.set_unit_draining("na-9")


async def test_delete_purges_every_row_on_every_server(
    store: CoreStore, cluster: ClusterState, random_name: str
) -> None:
    tenant = await store.operator.create_tenant(random_name, "FR", domains=(f"{random_name}.example",))
    session = await store.operator.session(tenant.id)
    user = await session.users.create(user_principal_name=f"a@{random_name}.example", display_name="A")
    group = await session.groups.create(display_name="G", mail_nickname="g")
    await session.groups.add_member(group.id, user.id)
    app = await session.applications.create(display_name="App")
    await session.applications.add_secret(app.id)
    await session.devices.create(display_name="D", operating_system="Windows", owner_id=user.id)
    await log_sign_in(store, session, user.user_principal_name)

    await store.operator.delete_tenant(tenant.id)

    with pytest.raises(TenantNotFound):
        await store.operator.session(tenant.id)
    assert await store.catalog(Cloud.PUBLIC).resolve_domain(f"{random_name}.example") is None
    for server in store.topology.servers():
        for database in ("corestore", "corestore_catalog"):
            if database == "corestore_catalog" and server.scale_unit != "na-1":
                continue
            await _assert_no_rows(dsn(cluster, server, "superuser", database), tenant.id.value, server.name)


async def _assert_no_rows(dsn: str, tenant_id: uuid.UUID, where: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'tenant_id' "
            "AND table_schema = 'public'"
        )
        for _ in range(100):
            counts = {
                t["table_name"]: await conn.fetchval(
                    f"SELECT count(*) FROM {t['table_name']} WHERE tenant_id = $1", tenant_id
                )
                for t in tables
            }
            if not any(counts.values()):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"rows left on {where}: {counts}")
    finally:
        await conn.close()


async def test_preloaded_placements_are_served_without_asking_the_catalog(
    cluster: ClusterState, tenant: Tenant
) -> None:
    store = CoreStore(cluster, cluster.discover(), region="westeurope", pool_size=1)
    try:
        assert await store.catalog(Cloud.PUBLIC).preload() >= 1
        primary = store.topology.catalog_unit(Cloud.PUBLIC).primary.name
        sent: list[str] = []
        async with store.pools.get(primary, CATALOG_DB).acquire() as conn:
            conn.add_query_logger(lambda record: sent.append(record.query))
        assert await store.placement(tenant.id.value, Cloud.PUBLIC) == tenant.placement
        assert sent == []
        with pytest.raises(TenantNotFound):
            await store.placement(uuid.uuid4(), Cloud.PUBLIC)
        await asyncio.sleep(0)  # asyncpg calls a query logger on the loop's next turn
        assert len(sent) == 1, "a tenant not preloaded is looked up"
    finally:
        await store.close()
