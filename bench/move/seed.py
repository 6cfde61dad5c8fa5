"""A moving tenant of a given size, seeded by SQL on its unit's primary: users, a group per
hundred users and a membership per user (what a move copies, at a rate the API could not seed),
then analysed: the clients' first minute must not run on plans made for an empty tenant."""

from __future__ import annotations

import uuid

from corestore.roles import DIRECTORY_DB
from scale_units.model.topology import Topology
from scale_units.model.types import ScaleUnitId
from scale_units.state import ClusterState

USERS = """INSERT INTO users (tenant_id, id, display_name, version, user_principal_name, account_enabled,
admin, extension) SELECT $1, gen_random_uuid(), 'bench-u' || i, 1, 'u' || i || '@bench.example', true, false,
'{}'::jsonb FROM generate_series(1, $2) i"""
GROUPS = """INSERT INTO groups (tenant_id, id, display_name, version, kind, mail_nickname)
SELECT $1, gen_random_uuid(), 'bench-g' || i, 1, 'security', 'g' || i FROM generate_series(1, $2) i"""
MEMBERS = """INSERT INTO memberships (tenant_id, group_id, member_id, member_user_id)
SELECT $1, g.id, u.id, u.id FROM (SELECT id, row_number() OVER () AS r FROM users WHERE tenant_id = $1) u
JOIN (SELECT id, row_number() OVER () - 1 AS r FROM groups WHERE tenant_id = $1) g ON g.r = u.r % $2"""
USERS_PER_GROUP = 100


async def seed(
    state: ClusterState, topology: Topology, tenant: uuid.UUID, unit: ScaleUnitId, users: int
) -> None:
    groups = max(1, users // USERS_PER_GROUP)
    async with state.connect(topology.scale_units[unit].primary, DIRECTORY_DB) as conn, conn.transaction():
        await conn.execute(USERS, tenant, users)
        await conn.execute(GROUPS, tenant, groups)
        await conn.execute(MEMBERS, tenant, groups)
    async with state.connect(topology.scale_units[unit].primary, DIRECTORY_DB) as conn:
        await conn.execute("ANALYZE users, groups, memberships")  # as after any bulk load
