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

from sqlalchemy import CTE, Text, Uuid, bindparam, func, select, true

from corestore.types import Actor

SETTING = "corestore.tenant_id"
ACTOR_SETTING = "corestore.actor"


def begin_for_tenant(tenant_id: uuid.UUID, actor: Actor | None = None) -> str:
    """BEGIN and the tenant setting in one round trip (a simple-query message), with who acts
    for the audit records of the transaction's changes (`Actor.setting`: ids only).

    The id is a `uuid.UUID`, whose text is hex digits and dashes only, so it is
    safe inline. `corestore.enter_tenant` (migration directory_0006) sets the tenant and
    refuses the write if a move fenced the tenant on this unit.
    """
    if not isinstance(tenant_id, uuid.UUID):
        raise TypeError("the tenant id must be a uuid.UUID")
    begin = f"BEGIN; SELECT corestore.enter_tenant('{tenant_id}', true)"
    if actor is None:
        return begin
    return f"{begin}; SELECT set_config('{ACTOR_SETTING}', '{actor_setting(actor)}', true)"


def entered() -> CTE:
    """The tenant entered for a write as the first step of a one-statement write, which selects
    its rows from this CTE: materialized, it runs before the statement makes any row, so before
    any row-level check. The statement binds `tenant_id` and `actor` (`actor_setting`); the
    settings, and the shared lock a move's fence waits for, last until the statement's own commit."""
    enter = func.corestore.enter_tenant(bindparam("tenant_id", type_=Uuid()), true())
    act = func.set_config(ACTOR_SETTING, bindparam("actor", "", type_=Text()), true())
    return select(enter, act).cte("entered").prefix_with("MATERIALIZED")


def actor_setting(actor: Actor | None) -> str:
    """`corestore.actor` for the audit records of a write: who acts, or '' for no one (tooling)."""
    return "" if actor is None else actor.setting()
