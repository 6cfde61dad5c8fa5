"""Directory audit logs: one record per change, written by the change's own transaction.

`directory_audits` holds Graph's directoryAudit: a trigger on every directory table
writes the record of each row it changes, in the same transaction, so no change
commits without its record and no record without its change (a rolled-back write
leaves neither). Who acted comes from `corestore.actor`, a transaction setting the
session writes with BEGIN (`corestore.rls.begin_for_tenant`); the user's principal name
and the application's name are looked up here, at the time of the change. Modified
properties list old and new values as JSON text, never a password hash or a secret
hash. The cascade of a tenant's deletion writes nothing (the tenant is gone), and a
tenant move's apply does not fire triggers (its rows are copied, records included).

Revision ID: directory_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "directory_0008"
down_revision = "directory_0007"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
CURRENT_TENANT = "(SELECT NULLIF(current_setting('corestore.tenant_id', true), '')::uuid)"
TABLES = (
    "tenants",
    "users",
    "groups",
    "memberships",
    "applications",
    "client_secrets",
    "service_principals",
    "app_role_assignments",
    "devices",
)
HIDDEN = "'tenant_id', 'id', 'version', 'created_at', 'updated_at', 'password_hash', 'secret_hash', 'hint'"

# (table, operation) -> activity, category; a user's update is named by what it changed.
AUDIT_CHANGE = f"""CREATE FUNCTION {SCHEMA}.audit_change() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
DECLARE
  r record := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  before jsonb := CASE WHEN TG_OP = 'INSERT' THEN '{{}}'::jsonb ELSE to_jsonb(OLD) END;
  after jsonb := CASE WHEN TG_OP = 'DELETE' THEN '{{}}'::jsonb ELSE to_jsonb(NEW) END;
  obj jsonb := CASE WHEN TG_OP = 'DELETE' THEN before ELSE after END;
  actor jsonb := NULLIF(current_setting('corestore.actor', true), '')::jsonb;
  verb text := CASE TG_OP WHEN 'INSERT' THEN 'Add' WHEN 'UPDATE' THEN 'Update' ELSE 'Delete' END;
  activity text;
  category text;
  target jsonb;
  also jsonb := '[]'::jsonb;
  changed jsonb := '[]'::jsonb;
  initiated jsonb := jsonb_build_object('user', NULL, 'app', NULL);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM public.tenants t WHERE t.tenant_id = r.tenant_id) THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'displayName', replace(initcap(replace(k, '_', ' ')), ' ', ''),
        'oldValue', CASE WHEN TG_OP = 'UPDATE' THEN (before -> k)::text END,
        'newValue', (after -> k)::text) ORDER BY k), '[]'::jsonb)
      INTO changed FROM jsonb_object_keys(after) AS k
      WHERE k NOT IN ({HIDDEN})
        AND coalesce(before -> k, 'null'::jsonb) IS DISTINCT FROM (after -> k);
  END IF;
  CASE TG_TABLE_NAME
  WHEN 'tenants' THEN
    activity := CASE TG_OP WHEN 'INSERT' THEN 'Create company' ELSE 'Set company information' END;
    category := 'DirectoryManagement';
    target := jsonb_build_object('id', r.tenant_id, 'type', 'Company', 'displayName', obj ->> 'display_name');
  WHEN 'users' THEN
    category := 'UserManagement';
    activity := CASE
      WHEN TG_OP = 'UPDATE' AND before ->> 'password_hash' IS DISTINCT FROM after ->> 'password_hash'
        THEN 'Reset user password'
      WHEN TG_OP = 'UPDATE' AND jsonb_array_length(changed) = 1
        AND changed -> 0 ->> 'displayName' = 'SignInSessionsValidFrom'
        THEN 'Update StsRefreshTokenValidFrom Timestamp'
      ELSE verb || ' user' END;
    target := jsonb_build_object('id', r.id, 'type', 'User', 'displayName', obj ->> 'display_name',
      'userPrincipalName', obj ->> 'user_principal_name');
  WHEN 'groups' THEN
    activity := verb || ' group';
    category := 'GroupManagement';
    target := jsonb_build_object('id', r.id, 'type', 'Group', 'displayName', obj ->> 'display_name');
  WHEN 'memberships' THEN
    activity := CASE TG_OP WHEN 'INSERT' THEN 'Add member to group' ELSE 'Remove member from group' END;
    category := 'GroupManagement';
    target := jsonb_build_object('id', obj ->> 'member_id',
      'type', CASE WHEN obj ->> 'member_user_id' IS NULL THEN 'Group' ELSE 'User' END);
    changed := '[]'::jsonb;
    also := jsonb_build_array(jsonb_build_object('id', obj ->> 'group_id', 'type', 'Group',
      'displayName', (SELECT g.display_name FROM public.groups g
        WHERE g.tenant_id = r.tenant_id AND g.id = (obj ->> 'group_id')::uuid),
      'modifiedProperties', '[]'::jsonb));
  WHEN 'applications' THEN
    activity := verb || ' application';
    category := 'ApplicationManagement';
    target := jsonb_build_object('id', r.id, 'type', 'Application', 'displayName', obj ->> 'display_name');
  WHEN 'client_secrets' THEN
    activity := 'Update application - Certificates and secrets management';
    category := 'ApplicationManagement';
    target := jsonb_build_object('id', obj ->> 'application_id', 'type', 'Application');
  WHEN 'service_principals' THEN
    activity := CASE TG_OP WHEN 'DELETE' THEN 'Remove' ELSE verb END || ' service principal';
    category := 'ApplicationManagement';
    target := jsonb_build_object('id', r.id, 'type', 'ServicePrincipal',
      'displayName', obj ->> 'display_name');
  WHEN 'app_role_assignments' THEN
    activity := CASE TG_OP WHEN 'INSERT' THEN 'Add app role assignment to service principal'
      ELSE 'Remove app role assignment from service principal' END;
    category := 'ApplicationManagement';
    target := jsonb_build_object('id', obj ->> 'principal_id', 'type', 'ServicePrincipal');
  ELSE
    activity := verb || ' device';
    category := 'DeviceManagement';
    target := jsonb_build_object('id', r.id, 'type', 'Device', 'displayName', obj ->> 'display_name');
  END CASE;
  IF actor ? 'user' THEN
    initiated := jsonb_build_object('app', NULL, 'user', jsonb_build_object('id', actor ->> 'user',
      'userPrincipalName', (SELECT u.user_principal_name FROM public.users u
        WHERE u.tenant_id = r.tenant_id AND u.id = (actor ->> 'user')::uuid)));
  ELSIF actor ? 'app' THEN
    initiated := jsonb_build_object('user', NULL, 'app', jsonb_build_object('appId', actor ->> 'app',
      'servicePrincipalId', actor ->> 'principal',
      'displayName', (SELECT p.display_name FROM public.service_principals p
        WHERE p.tenant_id = r.tenant_id AND p.app_id = (actor ->> 'app')::uuid)));
  END IF;
  INSERT INTO public.directory_audits (tenant_id, id, activity_at, activity_display_name, category,
      operation_type, correlation_id, initiated_by, target_resources)
    VALUES (r.tenant_id, gen_random_uuid(), clock_timestamp(), activity, category,
      CASE TG_OP WHEN 'INSERT' THEN 'Add' WHEN 'UPDATE' THEN 'Update' ELSE 'Delete' END,
      (actor ->> 'correlation')::uuid, initiated,
      jsonb_build_array(target || jsonb_build_object('modifiedProperties', changed)) || also);
  RETURN NULL;
END
$fn$"""

# A page of records, newest first (then id), each condition skipped when its value is NULL;
# the user, app and target conditions are jsonb containment, so their values stay bound text.
QUERY = f"""CREATE FUNCTION {SCHEMA}.directory_audits_query(p_tenant uuid, p_id uuid, p_from timestamptz,
  p_to timestamptz, p_activity text, p_prefix text, p_category text, p_user text, p_app text,
  p_target text, p_after_at timestamptz, p_after_id uuid, p_limit integer)
RETURNS SETOF public.directory_audits
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
BEGIN
PERFORM {SCHEMA}.enter_tenant(p_tenant, false);
RETURN QUERY SELECT * FROM public.directory_audits a WHERE a.tenant_id = p_tenant
  AND (p_id IS NULL OR a.id = p_id)
  AND (p_from IS NULL OR a.activity_at >= p_from) AND (p_to IS NULL OR a.activity_at <= p_to)
  AND (p_activity IS NULL OR a.activity_display_name = p_activity)
  AND (p_prefix IS NULL OR starts_with(a.activity_display_name, p_prefix))
  AND (p_category IS NULL OR a.category = p_category)
  AND (p_user IS NULL OR a.initiated_by @> jsonb_build_object('user', jsonb_build_object('id', p_user)))
  AND (p_app IS NULL OR a.initiated_by @> jsonb_build_object('app', jsonb_build_object('appId', p_app)))
  AND (p_target IS NULL OR a.target_resources @> jsonb_build_array(jsonb_build_object('id', p_target)))
  AND (p_after_at IS NULL OR (a.activity_at, a.id) < (p_after_at, p_after_id))
  ORDER BY a.activity_at DESC, a.id DESC LIMIT p_limit;
END
$fn$"""
QUERY_ARGS = (
    "uuid, uuid, timestamptz, timestamptz, text, text, text, text, text, text, timestamptz, uuid, integer"
)


def upgrade() -> None:
    op.create_table(
        "directory_audits",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activity_display_name", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("operation_type", sa.String(length=16), nullable=False),
        sa.Column("correlation_id", sa.Uuid(), nullable=True),
        sa.Column("initiated_by", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.Column("target_resources", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_directory_audits_tenant_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_directory_audits")),
    )
    op.create_index("ix_directory_audits_activity_at", "directory_audits", ["tenant_id", "activity_at", "id"])
    op.execute("ALTER TABLE directory_audits ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE directory_audits FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON directory_audits "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, DELETE ON directory_audits TO {APP_ROLE}")
    op.execute(AUDIT_CHANGE)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER audit_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.audit_change()"
        )
    op.execute(QUERY)
    op.execute(f"REVOKE ALL ON FUNCTION {SCHEMA}.directory_audits_query({QUERY_ARGS}) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SCHEMA}.directory_audits_query({QUERY_ARGS}) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SCHEMA}.directory_audits_query({QUERY_ARGS})")
    for table in TABLES:
        op.execute(f"DROP TRIGGER audit_change ON {table}")
    op.execute(f"DROP FUNCTION {SCHEMA}.audit_change()")
    op.drop_table("directory_audits")
