"""Row-level security: every directory table sees only the current transaction's tenant.

The tenant is a per-transaction setting: the first statement of every write
transaction, and the first thing every read function does (migration
directory_0002); a session-level SET would leak across pooled connections. The
policies (migration directory_0001) read it inside a scalar subquery, so Postgres
evaluates it once per statement and can use the indexes that lead with `tenant_id`.
With no tenant set, nothing matches.
"""

from __future__ import annotations

import uuid

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
