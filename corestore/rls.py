"""Row-level security: every directory table sees only the current transaction's tenant.

The tenant is a per-transaction setting: the first statement of every write
transaction, the first step of a one-statement write (`entered`), and the first
thing every read function does (migration directory_0002); a session-level SET
would leak across pooled connections. The
policies (migration directory_0001) read it inside a scalar subquery, so Postgres
evaluates it once per statement and can use the indexes that lead with `tenant_id`.
With no tenant set, nothing matches.
"""

from __future__ import annotations

import uuid

from sqlalchemy import CTE, Uuid, bindparam, func, select, true

SETTING = "corestore.tenant_id"


def begin_for_tenant(tenant_id: uuid.UUID) -> str:
    """BEGIN and the tenant setting in one round trip (a simple-query message).

    The id is a `uuid.UUID`, whose text is hex digits and dashes only, so it is
    safe inline. `corestore.enter_tenant` (migration directory_0006) sets the tenant and
    refuses the write if a move fenced the tenant on this unit.
    """
    if not isinstance(tenant_id, uuid.UUID):
        raise TypeError("the tenant id must be a uuid.UUID")
    return f"BEGIN; SELECT corestore.enter_tenant('{tenant_id}', true)"


def entered() -> CTE:
    """The tenant entered for a write as the first step of a one-statement write, which selects
    its rows from this CTE: materialized, it runs before the statement makes any row, so before
    any row-level check. The statement binds `tenant_id`; the setting, and the shared lock a
    move's fence waits for, last until the statement's own commit."""
    enter = func.corestore.enter_tenant(bindparam("tenant_id", type_=Uuid()), true())
    return select(enter).cte("entered").prefix_with("MATERIALIZED")
