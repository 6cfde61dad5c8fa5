"""Every tenant read function the store calls, by name and number of arguments: here only.

The directory migrations create them (schema `corestore`, from directory_0002 on) and
stay frozen; the store calls them only through `call`, which takes its arity from this
table, and a migration test holds the table to `pg_proc`: a function renamed or given
another argument fails a test, not a request.
"""

from __future__ import annotations

from functools import cache

SCHEMA = "corestore"
KINDS = ("users", "groups", "applications", "service_principals", "devices")
DELTA_KINDS = ("users", "groups")
# tenant, limit, condition and its values, keyset and its values, order, descending, count
QUERY_ARGS = 9

READ_FUNCTIONS: dict[str, int] = {
    **{f"{kind}_by_id": 2 for kind in KINDS},
    **{f"{kind}_query": QUERY_ARGS for kind in KINDS},
    **{f"{kind}_delta": 4 for kind in DELTA_KINDS},
    "user_by_upn": 2,
    "application_by_id": 2,
    "client_credentials": 3,
    "client_certificates": 2,
    "client_registration": 2,
    "members": 5,
    "member_of": 5,
    "sign_ins_page": 3,
    "app_role_assignments": 3,
    "organization": 1,
    "tenant_epoch": 1,
    "directory_audits_query": 13,
    "deleted_items_query": 7,
    "deleted_item_by_id": 2,
}


@cache
def call(function: str) -> str:
    """`SELECT * FROM corestore.<function>($1, ..., $n)` as one prepared statement; `function`
    is one of ours (KeyError otherwise), never a caller's."""
    params = ", ".join(f"${i}" for i in range(1, READ_FUNCTIONS[function] + 1))
    return f"SELECT * FROM {SCHEMA}.{function}({params})"  # noqa: S608
