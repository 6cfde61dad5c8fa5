"""App role assignments, and the change log behind delta queries.

`app_role_assignments`: the application permissions (app roles of Microsoft Graph)
granted to a service principal; the client-credentials read now returns them with
the secrets, still one statement.

`directory_changes`: one row per user or group ever written, kept by a trigger:
the id of the last transaction that wrote it (`pg_current_xact_id()`, an xid8 kept as
bigint: 64 bits, it never wraps) and
whether it is gone (a tombstone). A delta token is `pg_snapshot_xmin` of the
snapshot that read the previous round: every transaction below it was visible
then, every one at or above may not have been, so a change is never missed even
when transactions commit out of order (some are sent twice, which Graph allows).
The xid is taken only in writes; reads (`<kind>_delta`) take only the snapshot,
which a hot standby has too. Writes by the cascade of a tenant's deletion leave
no rows (the tenant is gone).

Revision ID: directory_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "directory_0005"
down_revision = "directory_0004"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
CURRENT_TENANT = "(SELECT NULLIF(current_setting('corestore.tenant_id', true), '')::uuid)"
SET_TENANT = "PERFORM pg_catalog.set_config('corestore.tenant_id', p_tenant::text, true);"
TABLES = ("app_role_assignments", "directory_changes")
KINDS = ("users", "groups")


def _function(signature: str, returns: str, body: str, declare: str = "") -> str:
    return (
        f"CREATE FUNCTION {SCHEMA}.{signature} RETURNS {returns} "
        "LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$\n#variable_conflict use_column\n"
        f"{declare}BEGIN\n{SET_TENANT}\n{body}\nEND\n$fn$"
    )


# A principal's assignments (an unknown principal raises no_data_found, not an empty list),
# or a resource's.
ASSIGNMENTS = _function(
    "app_role_assignments(p_tenant uuid, p_principal uuid, p_resource uuid)",
    "TABLE(id uuid, principal_id uuid, resource_id uuid, app_role_id uuid, created_at timestamptz, "
    "principal_display_name varchar)",
    """IF p_principal IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.service_principals
    WHERE tenant_id = p_tenant AND id = p_principal) THEN
  RAISE EXCEPTION USING ERRCODE = 'no_data_found', MESSAGE = 'no service principal ' || p_principal;
END IF;
RETURN QUERY SELECT a.id, a.principal_id, a.resource_id, a.app_role_id, a.created_at, p.display_name
  FROM public.app_role_assignments a
  JOIN public.service_principals p ON p.tenant_id = a.tenant_id AND p.id = a.principal_id
  WHERE a.tenant_id = p_tenant AND (p_principal IS NULL OR a.principal_id = p_principal)
    AND (p_resource IS NULL OR a.resource_id = p_resource)
  ORDER BY a.created_at, a.id;""",
)
CLIENT_CREDENTIALS = "client_credentials(p_tenant uuid, p_app_id uuid, p_now timestamptz)"
OLD_CREDENTIALS_BODY = """RETURN QUERY SELECT s.secret_hash, p FROM public.client_secrets s
  JOIN public.applications a ON a.tenant_id = s.tenant_id AND a.id = s.application_id
  JOIN public.service_principals p ON p.tenant_id = a.tenant_id AND p.app_id = a.app_id
  WHERE s.tenant_id = p_tenant AND a.app_id = p_app_id AND s.expires_at > p_now;"""
# The client-credentials grant in one call: the live secrets' hashes, the principal, and
# the app role ids assigned to it (what its token's `roles` say).
CREDENTIALS_BODY = """RETURN QUERY SELECT s.secret_hash, p, ARRAY(SELECT r.app_role_id
    FROM public.app_role_assignments r WHERE r.tenant_id = p.tenant_id AND r.principal_id = p.id)
  FROM public.client_secrets s
  JOIN public.applications a ON a.tenant_id = s.tenant_id AND a.id = s.application_id
  JOIN public.service_principals p ON p.tenant_id = a.tenant_id AND p.app_id = a.app_id
  WHERE s.tenant_id = p_tenant AND a.app_id = p_app_id AND s.expires_at > p_now;"""

# A write's trace: its transaction id, upserted per object. SECURITY INVOKER like the
# rest: the writer (the app role, its tenant set) must be allowed to write the row.
RECORD_CHANGE = f"""CREATE FUNCTION {SCHEMA}.record_change() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
DECLARE
  r record := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
  IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM public.tenants t WHERE t.tenant_id = r.tenant_id) THEN
    RETURN NULL;
  END IF;
  INSERT INTO public.directory_changes AS c (tenant_id, kind, object_id, xid, removed)
    VALUES (r.tenant_id, TG_TABLE_NAME, r.id, pg_catalog.pg_current_xact_id()::text::bigint, TG_OP = 'DELETE')
    ON CONFLICT (tenant_id, kind, object_id)
    DO UPDATE SET xid = EXCLUDED.xid, removed = EXCLUDED.removed;
  RETURN NULL;
END
$fn$"""


def _delta(table: str) -> str:
    """A page of a delta round, in id order: every object (p_since NULL, the first round) or
    those changed at or after transaction p_since, the removed ones with a NULL object. The
    last row is a trailer (object_id NULL) carrying this read's snapshot xmin, the next token."""
    return _function(
        f"{table}_delta(p_tenant uuid, p_after uuid, p_limit integer, p_since bigint)",
        f"TABLE(object_id uuid, obj public.{table}, snapshot_xmin bigint)",
        f"""v_xmin := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint;
IF p_since IS NULL THEN
  RETURN QUERY SELECT o.id, o, NULL::bigint FROM public.{table} o
    WHERE o.tenant_id = p_tenant AND o.id > p_after ORDER BY o.id LIMIT p_limit;
ELSE
  RETURN QUERY SELECT c.object_id, o, NULL::bigint FROM public.directory_changes c
    LEFT JOIN public.{table} o ON o.tenant_id = c.tenant_id AND o.id = c.object_id
    WHERE c.tenant_id = p_tenant AND c.kind = '{table}' AND c.xid >= p_since
      AND c.object_id > p_after
    ORDER BY c.object_id LIMIT p_limit;
END IF;
RETURN QUERY SELECT NULL::uuid, NULL::public.{table}, v_xmin;""",
        declare="DECLARE v_xmin bigint;\n",
    )


def upgrade() -> None:
    op.create_table(
        "app_role_assignments",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("principal_id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("app_role_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "principal_id"],
            ["service_principals.tenant_id", "service_principals.id"],
            name=op.f("fk_app_role_assignments_tenant_id_principal_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_app_role_assignments")),
    )
    op.create_index(
        "uq_app_role_assignments_grant",
        "app_role_assignments",
        ["tenant_id", "principal_id", "resource_id", "app_role_id"],
        unique=True,
    )
    op.create_index("ix_app_role_assignments_resource", "app_role_assignments", ["tenant_id", "resource_id"])
    op.create_table(
        "directory_changes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_directory_changes_tenant_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "object_id", name=op.f("pk_directory_changes")),
    )
    op.create_index("ix_directory_changes_xid", "directory_changes", ["tenant_id", "kind", "xid"])
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
    op.execute(f"GRANT SELECT, INSERT, DELETE ON app_role_assignments TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON directory_changes TO {APP_ROLE}")
    op.execute(RECORD_CHANGE)
    for table in KINDS:
        op.execute(
            f"CREATE TRIGGER record_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.record_change()"
        )
        op.execute(_delta(table))
    op.execute(ASSIGNMENTS)
    op.execute(f"DROP FUNCTION {SCHEMA}.{CLIENT_CREDENTIALS}")
    op.execute(
        _function(
            CLIENT_CREDENTIALS,
            "TABLE(secret_hash bytea, principal public.service_principals, app_role_ids uuid[])",
            CREDENTIALS_BODY,
        )
    )
    _grant_functions()


def _grant_functions() -> None:
    op.execute(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {SCHEMA} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {SCHEMA} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SCHEMA}.{CLIENT_CREDENTIALS}")
    op.execute(
        _function(
            CLIENT_CREDENTIALS,
            "TABLE(secret_hash bytea, principal public.service_principals)",
            OLD_CREDENTIALS_BODY,
        )
    )
    op.execute(f"DROP FUNCTION {SCHEMA}.app_role_assignments(uuid, uuid, uuid)")
    for table in KINDS:
        op.execute(f"DROP FUNCTION {SCHEMA}.{table}_delta(uuid, uuid, integer, bigint)")
        op.execute(f"DROP TRIGGER record_change ON {table}")
    op.execute(f"DROP FUNCTION {SCHEMA}.record_change()")
    _grant_functions()
    for table in reversed(TABLES):
        op.drop_table(table)
