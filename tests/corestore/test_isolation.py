"""Isolation, twice: the API scopes by tenant, and the database's RLS does again on its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Uuid, bindparam, insert, literal, select

from corestore.errors import Conflict, NotFound
from corestore.rls import entered
from corestore.roles import dsn
from corestore.schema import Base
from corestore.session import TenantSession
from corestore.sql import compile_statement
from corestore.store import CoreStore
from corestore.types import Tenant
from scale_units.state import ClusterState
from tests.corestore.fill import fill_every_table

TABLES = sorted(t.name for t in Base.metadata.sorted_tables)


@pytest.fixture
async def two_tenants(store: CoreStore, random_name: str) -> tuple[Tenant, Tenant, dict[str, uuid.UUID]]:
    a = await store.operator.create_tenant(f"{random_name}a", "FR")
    b = await store.operator.create_tenant(f"{random_name}b", "FR")
    await fill_every_table(store, await store.operator.session(a.id), f"{random_name}a")
    b_ids = await fill_every_table(store, await store.operator.session(b.id), f"{random_name}b")
    return a, b, b_ids


@pytest.fixture
async def app_conn(cluster: ClusterState, store: CoreStore) -> AsyncIterator[asyncpg.Connection]:
    """Raw SQL as the application role on the EMEA primary, where both tenants live."""
    conn = await asyncpg.connect(dsn(cluster, store.topology.scale_units["emea-1"].primary, "app"))
    yield conn
    await conn.close()


async def test_a_one_statement_write_enters_its_tenant_and_no_other(
    store: CoreStore, session: TenantSession, random_name: str
) -> None:
    """`rls.entered` runs before the statement makes its row: the row-level check sees the
    session's tenant, and a row of another tenant is refused by the database itself."""
    a, b = session.tenant_id, (await store.operator.create_tenant(f"{random_name}b", "FR")).id.value
    groups = Base.metadata.tables["groups"]
    made = select(
        bindparam("row_tenant", type_=Uuid()),
        bindparam("id", type_=Uuid()),
        *map(literal, ("x", "x", 1, "security")),
    ).select_from(entered())
    columns = ["tenant_id", "id", "display_name", "mail_nickname", "version", "kind"]
    query = compile_statement(insert(groups).from_select(columns, made).returning(groups.c.id))
    mine = uuid.uuid4()
    await session.write_one(query.sql, *query.args(tenant_id=a, row_tenant=a, id=mine))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await session.write_one(query.sql, *query.args(tenant_id=a, row_tenant=b, id=mine))
    assert (await session.groups.get(mine)).id == mine


@pytest.mark.parametrize("table", TABLES)
async def test_query_without_tenant_filter_sees_only_current_tenant(
    app_conn: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant, dict[str, uuid.UUID]], table: str
) -> None:
    a, _, _ = two_tenants
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('corestore.tenant_id', $1, true)", str(a.id))
        seen = {r["tenant_id"] for r in await app_conn.fetch(f"SELECT tenant_id FROM {table}")}
    assert seen == {a.id.value}


@pytest.mark.parametrize("table", TABLES)
async def test_no_tenant_set_sees_nothing(
    app_conn: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant, dict[str, uuid.UUID]], table: str
) -> None:
    assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 0
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('corestore.tenant_id', $1, true)", str(two_tenants[0].id))
    assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 0, (
        "setting leaked past its transaction"
    )


async def test_writing_another_tenants_row_is_refused_by_the_database(
    app_conn: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant, dict[str, uuid.UUID]]
) -> None:
    a, b, _ = two_tenants
    insert = (
        "INSERT INTO groups (tenant_id, id, display_name, kind, mail_nickname, version) "
        "VALUES ($1, $2, 'x', 'security', 'x', 1)"
    )
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('corestore.tenant_id', $1, true)", str(a.id))
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            await app_conn.execute(insert, b.id.value, uuid.uuid4())


async def test_app_role_cannot_switch_rls_off(app_conn: asyncpg.Connection) -> None:
    """Refused for want of privilege (it owns no table), not for any other error."""
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be owner of table users"):
        await app_conn.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute("SET row_security = off; SELECT * FROM users")


@pytest.mark.parametrize("kind", ["user", "group", "application", "device"])
async def test_another_tenants_object_reads_as_not_found(
    store: CoreStore, two_tenants: tuple[Tenant, Tenant, dict[str, uuid.UUID]], kind: str
) -> None:
    a, _, b_ids = two_tenants
    session = await store.operator.session(a.id)
    repo: Any = {
        "user": session.users,
        "group": session.groups,
        "application": session.applications,
        "device": session.devices,
    }[kind]
    with pytest.raises(NotFound):
        await repo.get(b_ids[kind])
    with pytest.raises(NotFound):
        await repo.update(b_ids[kind], {"display_name": "hijacked"})
    with pytest.raises(NotFound):
        await repo.delete(b_ids[kind])
    assert b_ids[kind] not in {o.id for o in (await repo.list(top=999)).items}


async def test_cross_tenant_membership_is_not_found(
    store: CoreStore, two_tenants: tuple[Tenant, Tenant, dict[str, uuid.UUID]]
) -> None:
    a, _, b_ids = two_tenants
    session = await store.operator.session(a.id)
    group = (await session.groups.list(top=1)).items[0]
    with pytest.raises(NotFound):
        await session.groups.add_member(group.id, b_ids["user"])
    with pytest.raises(NotFound):
        await session.groups.members(b_ids["group"])


ZERO = uuid.UUID(int=0)


async def test_read_functions_return_nothing_of_another_tenant_under_ours(
    app_conn: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant, dict[str, uuid.UUID]]
) -> None:
    a, b, b_ids = two_tenants
    mine = a.id.value
    for kind, table in [("user", "users"), ("group", "groups"), ("application", "applications")]:
        assert await app_conn.fetch(f"SELECT * FROM corestore.{table}_by_id($1, $2)", mine, b_ids[kind]) == []
    b_user = await app_conn.fetch("SELECT * FROM corestore.users_by_id($1, $2)", b.id.value, b_ids["user"])
    assert len(b_user) == 1, "the function finds the row under its own tenant"
    upn = b_user[0]["user_principal_name"]
    assert await app_conn.fetch("SELECT * FROM corestore.user_by_upn($1, $2)", mine, upn) == []
    assert (
        await app_conn.fetch(
            "SELECT * FROM corestore.member_of($1, $2, $3, 100, true)", mine, b_ids["user"], ZERO
        )
        == []
    )
    with pytest.raises(asyncpg.NoDataFoundError):
        await app_conn.fetch(
            "SELECT * FROM corestore.members($1, $2, $3, 100, true)", mine, b_ids["group"], ZERO
        )
    b_app = await app_conn.fetchval(
        "SELECT app_id FROM corestore.applications_by_id($1, $2)", b.id.value, b_ids["application"]
    )
    assert (
        await app_conn.fetch("SELECT * FROM corestore.client_credentials($1, $2, now())", mine, b_app) == []
    )
    assert await app_conn.fetch("SELECT * FROM corestore.client_certificates($1, $2)", mine, b_app) == []
    signed = await app_conn.fetch("SELECT tenant_id FROM corestore.sign_ins_page($1, 'infinity', 100)", mine)
    assert {r["tenant_id"] for r in signed} == {mine}
    audits = "SELECT tenant_id FROM corestore.directory_audits_query($1, {}, 1000)".format(
        ", ".join(["NULL"] * 11)
    )
    assert {r["tenant_id"] for r in await app_conn.fetch(audits, mine)} == {mine}
    target = await app_conn.fetch(
        audits.replace("NULL, NULL, NULL, 1000", "$2, NULL, NULL, 1000"), mine, str(b_ids["user"])
    )
    assert target == [], "another tenant's object is no target here"
    assert (
        await app_conn.fetch("SELECT * FROM corestore.deleted_item_by_id($1, $2)", mine, b_ids["deleted"])
        == []
    )
    mine_deleted = await app_conn.fetch(
        "SELECT id FROM corestore.deleted_items_query($1, 'users', 1000, NULL, NULL, $2, false)", mine, ZERO
    )
    assert b_ids["deleted"] not in {r["id"] for r in mine_deleted}
    theirs = await app_conn.fetch(
        "SELECT id FROM corestore.deleted_item_by_id($1, $2)", b.id.value, b_ids["deleted"]
    )
    assert len(theirs) == 1, "the function finds the item under its own tenant"


@pytest.mark.parametrize("table", ["users", "groups", "applications", "service_principals", "devices"])
async def test_a_page_condition_cannot_widen_past_row_level_security(
    app_conn: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant, dict[str, uuid.UUID]], table: str
) -> None:
    """Even a condition crafted to escape its parentheses sees only the function's tenant."""
    a, _, _ = two_tenants
    escape = f"true) OR ({table}.tenant_id IS NOT NULL"
    rows = await app_conn.fetch(
        f"SELECT tenant_id FROM corestore.{table}_page($1, $2, 1000, $3, NULL)", a.id.value, ZERO, escape
    )
    assert rows
    assert {r["tenant_id"] for r in rows} == {a.id.value}


async def test_no_tenant_setting_survives_on_a_pooled_connection(
    cluster: ClusterState, two_tenants: tuple[Tenant, Tenant, dict[str, uuid.UUID]]
) -> None:
    """Pooled connections go back without a reset query: after every kind of library call,
    including failed ones, the same connection sees no tenant and no rows."""
    a, _, b_ids = two_tenants
    store = CoreStore(cluster, cluster.discover(), region="westeurope", pool_size=1)
    try:
        session = await store.operator.session(a.id)
        user = (await session.users.list(filter="accountEnabled eq true", top=5)).items[0]
        await session.users.get(user.id)
        await session.users.resolve(user.user_principal_name)
        group = (await session.groups.list(top=1)).items[0]
        await session.groups.members(group.id, transitive=True)
        await session.groups.member_of(user.id, transitive=True)
        await session.sign_ins.list()
        await session.users.update(user.id, {"display_name": "renamed"})
        with pytest.raises(NotFound):
            await session.users.get(b_ids["user"])
        with pytest.raises(Conflict):
            await session.users.create(user_principal_name=user.user_principal_name, display_name="twin")
        with pytest.raises(NotFound):
            await session.groups.members(b_ids["group"])
        for server in store.topology.scale_units["emea-1"].servers:
            pool = store.pools.get(server.name)
            async with pool.acquire() as conn:
                assert not conn.is_in_transaction()
                assert await conn.fetchval("SELECT current_setting('corestore.tenant_id', true)") in (
                    None,
                    "",
                )
                for table in TABLES:
                    assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, (server.name, table)
    finally:
        await store.close()
