"""Tenant read functions: one prepared statement per read, the tenant set inside the function.

Each function is plpgsql, SECURITY INVOKER (row-level security still applies to the
caller, the app role), sets `corestore.tenant_id` with `set_config(..., true)` and
returns its rows; called outside an explicit transaction, the implicit transaction
ends with the statement, so the setting cannot outlive it. Every name is
schema-qualified. The app role gets USAGE on the schema and EXECUTE on the functions,
nothing else.

Revision ID: directory_0002
"""

from alembic import op

revision = "directory_0002"
down_revision = "directory_0001"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
SET_TENANT = "PERFORM pg_catalog.set_config('corestore.tenant_id', p_tenant::text, true);"
KINDS = ("users", "groups", "applications", "service_principals", "devices")


def _function(signature: str, returns: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {SCHEMA}.{signature} RETURNS {returns} "
        "LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$\n#variable_conflict use_column\n"
        f"BEGIN\n{SET_TENANT}\n{body}\nEND\n$fn$"
    )


def _kind_functions(table: str) -> list[str]:
    by_id = _function(
        f"{table}_by_id(p_tenant uuid, p_id uuid)",
        f"SETOF public.{table}",
        f"RETURN QUERY SELECT * FROM public.{table} WHERE tenant_id = p_tenant AND id = p_id;",
    )
    # A filtered page's condition is compiled by corestore.filters: column names and
    # casts of `$4[n]` (an element of p_args), never caller text.
    page = _function(
        f"{table}_page(p_tenant uuid, p_after uuid, p_limit integer, p_condition text, p_args text[])",
        f"SETOF public.{table}",
        f"""IF p_condition IS NULL THEN
  RETURN QUERY SELECT * FROM public.{table} WHERE tenant_id = p_tenant AND id > p_after
    ORDER BY id LIMIT p_limit;
ELSE
  RETURN QUERY EXECUTE 'SELECT * FROM public.{table} WHERE {table}.tenant_id = $1 AND {table}.id > $2 AND ('
    || p_condition || ') ORDER BY {table}.id LIMIT $3' USING p_tenant, p_after, p_limit, p_args;
END IF;""",
    )
    return [by_id, page]


MEMBER_ROWS = """SELECT r.id, u, g FROM refs r
  LEFT JOIN public.users u ON u.tenant_id = p_tenant AND u.id = r.id
  LEFT JOIN public.groups g ON g.tenant_id = p_tenant AND g.id = r.id
  ORDER BY r.id;"""
TRANSITIVE = """WITH RECURSIVE t(member_id, member_group_id) AS (
      SELECT m.member_id, m.member_group_id FROM public.memberships m
      WHERE m.tenant_id = p_tenant AND m.group_id = p_group
    UNION
      SELECT m.member_id, m.member_group_id FROM public.memberships m
      JOIN t ON m.group_id = t.member_group_id WHERE m.tenant_id = p_tenant),
  refs(id) AS (SELECT DISTINCT member_id FROM t WHERE member_id > p_after ORDER BY 1 LIMIT p_limit)"""
DIRECT = """WITH refs(id) AS (SELECT m.member_id FROM public.memberships m
    WHERE m.tenant_id = p_tenant AND m.group_id = p_group AND m.member_id > p_after
    ORDER BY m.member_id LIMIT p_limit)"""
TRANSITIVE_OF = """WITH RECURSIVE t(group_id) AS (
      SELECT m.group_id FROM public.memberships m WHERE m.tenant_id = p_tenant AND m.member_id = p_member
    UNION
      SELECT m.group_id FROM public.memberships m
      JOIN t ON m.member_group_id = t.group_id WHERE m.tenant_id = p_tenant)
  SELECT DISTINCT g.* FROM t JOIN public.groups g ON g.tenant_id = p_tenant AND g.id = t.group_id
  WHERE g.id > p_after ORDER BY g.id LIMIT p_limit"""
DIRECT_OF = """SELECT g.* FROM public.memberships m
  JOIN public.groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
  WHERE m.tenant_id = p_tenant AND m.member_id = p_member AND m.group_id > p_after
  ORDER BY m.group_id LIMIT p_limit"""

SPECIAL = [
    _function(
        "user_by_upn(p_tenant uuid, p_upn text)",
        "SETOF public.users",
        "RETURN QUERY SELECT * FROM public.users WHERE tenant_id = p_tenant "
        "AND pg_catalog.lower(user_principal_name) = pg_catalog.lower(p_upn);",
    ),
    # The client-credentials grant in one call: the live secrets' hashes and the principal.
    _function(
        "client_credentials(p_tenant uuid, p_app_id uuid, p_now timestamptz)",
        "TABLE(secret_hash bytea, principal public.service_principals)",
        """RETURN QUERY SELECT s.secret_hash, p FROM public.client_secrets s
  JOIN public.applications a ON a.tenant_id = s.tenant_id AND a.id = s.application_id
  JOIN public.service_principals p ON p.tenant_id = a.tenant_id AND p.app_id = a.app_id
  WHERE s.tenant_id = p_tenant AND a.app_id = p_app_id AND s.expires_at > p_now;""",
    ),
    # Members of a group (direct or transitive), each as a user or a group row; a group
    # that does not exist (in this tenant) raises no_data_found rather than answering empty.
    _function(
        "members(p_tenant uuid, p_group uuid, p_after uuid, p_limit integer, p_transitive boolean)",
        "TABLE(member_id uuid, member_user public.users, member_group public.groups)",
        f"""IF NOT EXISTS (SELECT 1 FROM public.groups WHERE tenant_id = p_tenant AND id = p_group) THEN
  RAISE EXCEPTION USING ERRCODE = 'no_data_found', MESSAGE = 'no group ' || p_group;
END IF;
IF p_transitive THEN
  RETURN QUERY {TRANSITIVE} {MEMBER_ROWS}
ELSE
  RETURN QUERY {DIRECT} {MEMBER_ROWS}
END IF;""",
    ),
    # The groups an object is in, directly or through nested groups.
    _function(
        "member_of(p_tenant uuid, p_member uuid, p_after uuid, p_limit integer, p_transitive boolean)",
        "SETOF public.groups",
        f"""IF p_transitive THEN
  RETURN QUERY {TRANSITIVE_OF};
ELSE
  RETURN QUERY {DIRECT_OF};
END IF;""",
    ),
    _function(
        "sign_ins_page(p_tenant uuid, p_before timestamptz, p_limit integer)",
        "SETOF public.sign_ins",
        "RETURN QUERY SELECT * FROM public.sign_ins WHERE tenant_id = p_tenant AND created_at < p_before "
        "ORDER BY created_at DESC LIMIT p_limit;",
    ),
]


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA {SCHEMA}")
    for table in KINDS:
        for statement in _kind_functions(table):
            op.execute(statement)
    for statement in SPECIAL:
        op.execute(statement)
    op.execute(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {SCHEMA} FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {APP_ROLE}")
    op.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {SCHEMA} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
