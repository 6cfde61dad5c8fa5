"""Graph v1.0 fidelity: the properties Graph requires that we lacked, and one query function per kind.

Users gain `mail_nickname`, devices `operating_system_version` and `account_enabled`
(Graph's required create properties). Each kind gains `<table>_query`: a page in a chosen
order, keyset-paged on (order column, id), with an optional total of the matching rows,
all in one statement as every tenant read (see directory_0002). Conditions are compiled
by corestore (column names and casts of `$4[n]` / `$5[n]`, never caller text); the order
column is quoted by `format('%I')` here as well, so no text of a caller reaches the SQL.
An empty page with a count asked for still answers one row: no object, the total.
`organization` reads the tenant's own row, for Graph's /organization.

Revision ID: directory_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "directory_0004"
down_revision = "directory_0003"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
KINDS = ("users", "groups", "applications", "service_principals", "devices")
QUERY_ARGS = (
    "p_tenant uuid, p_limit integer, p_condition text, p_args text[], p_keyset text, "
    "p_keyset_args text[], p_order text, p_descending boolean, p_count boolean"
)
QUERY_TYPES = "uuid, integer, text, text[], text, text[], text, boolean, boolean"
# An application's redirect URIs as {"web": [...], "spa": [...], "publicClient": [...]}.
REDIRECT_URIS = """(SELECT pg_catalog.jsonb_object_agg(x.platform, x.uris) FROM (
    SELECT r.platform, pg_catalog.jsonb_agg(r.uri ORDER BY r.uri) AS uris FROM public.redirect_uris r
    WHERE r.tenant_id = {t}.tenant_id AND r.application_id = {t}.id GROUP BY r.platform) x)"""


def _extra(table: str) -> str:
    return REDIRECT_URIS.format(t=table) if table == "applications" else "NULL::jsonb"


def _query_function(table: str) -> str:
    extra = _extra(table).replace("'", "''")
    return f"""CREATE FUNCTION {SCHEMA}.{table}_query({QUERY_ARGS})
RETURNS TABLE(obj public.{table}, extra jsonb, total bigint)
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
DECLARE
  v_where text := '{table}.tenant_id = $1';
  v_direction text := CASE WHEN p_descending THEN ' DESC' ELSE ' ASC' END;
  v_total bigint;
BEGIN
PERFORM pg_catalog.set_config('corestore.tenant_id', p_tenant::text, true);
IF p_condition IS NOT NULL THEN
  v_where := v_where || ' AND (' || p_condition || ')';
END IF;
IF p_count THEN
  EXECUTE 'SELECT pg_catalog.count(*) FROM public.{table} WHERE ' || v_where INTO v_total
    USING p_tenant, p_limit, NULL::text, p_args, p_keyset_args;
END IF;
IF p_keyset IS NOT NULL THEN
  v_where := v_where || ' AND (' || p_keyset || ')';
END IF;
RETURN QUERY EXECUTE 'SELECT {table}, {extra}, $6 FROM public.{table} WHERE ' || v_where
  || ' ORDER BY ' || pg_catalog.format('{table}.%I', p_order) || v_direction || ', {table}.id' || v_direction
  || ' LIMIT $2' USING p_tenant, p_limit, NULL::text, p_args, p_keyset_args, v_total;
IF p_count AND NOT FOUND THEN
  RETURN QUERY SELECT NULL::public.{table}, NULL::jsonb, v_total;
END IF;
END
$fn$"""


APPLICATION = f"""CREATE FUNCTION {SCHEMA}.application_by_id(p_tenant uuid, p_id uuid)
RETURNS TABLE(obj public.applications, extra jsonb)
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
BEGIN
PERFORM pg_catalog.set_config('corestore.tenant_id', p_tenant::text, true);
RETURN QUERY SELECT applications, {_extra("applications")} FROM public.applications
  WHERE applications.tenant_id = p_tenant AND applications.id = p_id;
END
$fn$"""

# The tenant's own row, for Graph's /organization.
ORGANIZATION = f"""CREATE FUNCTION {SCHEMA}.organization(p_tenant uuid) RETURNS SETOF public.tenants
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
BEGIN
PERFORM pg_catalog.set_config('corestore.tenant_id', p_tenant::text, true);
RETURN QUERY SELECT * FROM public.tenants WHERE tenants.tenant_id = p_tenant;
END
$fn$"""


def upgrade() -> None:
    op.add_column("users", sa.Column("mail_nickname", sa.String(length=64), nullable=True))
    op.add_column("devices", sa.Column("operating_system_version", sa.String(length=64), nullable=True))
    op.add_column(
        "devices", sa.Column("account_enabled", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.alter_column("devices", "account_enabled", server_default=None)
    for table in KINDS:
        op.execute(_query_function(table))
        op.execute(f"REVOKE ALL ON FUNCTION {SCHEMA}.{table}_query({QUERY_TYPES}) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {SCHEMA}.{table}_query({QUERY_TYPES}) TO {APP_ROLE}")
    op.execute(APPLICATION)
    op.execute(f"REVOKE ALL ON FUNCTION {SCHEMA}.application_by_id(uuid, uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SCHEMA}.application_by_id(uuid, uuid) TO {APP_ROLE}")
    op.execute(ORGANIZATION)
    op.execute(f"REVOKE ALL ON FUNCTION {SCHEMA}.organization(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SCHEMA}.organization(uuid) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SCHEMA}.organization(uuid)")
    op.execute(f"DROP FUNCTION {SCHEMA}.application_by_id(uuid, uuid)")
    for table in KINDS:
        op.execute(f"DROP FUNCTION {SCHEMA}.{table}_query({QUERY_TYPES})")
    op.drop_column("devices", "account_enabled")
    op.drop_column("devices", "operating_system_version")
    op.drop_column("users", "mail_nickname")
