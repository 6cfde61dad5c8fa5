"""Deleted items: users, Microsoft 365 groups, applications and service principals wait 30 days.

`deleted_items` holds a soft-deleted object's row (as JSON) and the rows that hang off it
(memberships, an application's secrets, certificates and redirect URIs, a principal's
app role assignments), so the live tables hold live objects only: every read, list, count,
filter and search is unchanged, and a deleted user's principal name is free again (Entra
renames it in the bin). `soft_delete` moves an object there in the caller's write
transaction (an application's service principal goes with it, as its own item; a
security group is deleted at once, as Entra does);
`restore_deleted` puts it back, with the related rows whose other side still exists; a
key taken meanwhile is a unique violation. Both run as the caller, under row-level
security.

The audit trigger (directory_0008) learns two activities: "Restore ..." for the restored
object (its related rows write no records), and "Hard Delete ..." when an item leaves
the bin for good (a purge, or DELETE). A permanent delete of a user or group moves its
delta change (directory_0005) again, and the delta functions say whether a removed object
is in the bin (Graph's reason "changed") or gone ("deleted").

Audit retention moves from a per-insert trigger (directory_0009) to the same bounded
background job that empties the bin (`corestore.retention`).

One revision over 300 lines on purpose: the bin, its functions and what the audit trigger
and the delta functions learn of it are one upgrade, applied and undone together.

Revision ID: directory_0011
"""

import importlib
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "directory_0011"
down_revision = "directory_0010"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
CURRENT_TENANT = "(SELECT NULLIF(current_setting('corestore.tenant_id', true), '')::uuid)"
KINDS = ("users", "groups", "applications", "service_principals")
# (kind, table, column): the rows a soft delete keeps with its object.
RELATED = """(VALUES ('users', 'memberships', 'member_user_id'), ('groups', 'memberships', 'group_id'),
  ('groups', 'memberships', 'member_group_id'), ('applications', 'client_secrets', 'application_id'),
  ('applications', 'redirect_uris', 'application_id'), ('applications', 'key_credentials', 'application_id'),
  ('service_principals', 'app_role_assignments', 'principal_id')) AS l(kind, child, col)"""


# directory_0010, whose loader and amended audit trigger this revision builds on.
KEYS = importlib.import_module("corestore.migrations.directory.0010_key_credentials")
CHANGES = KEYS._revision("0005_changes.py")
RETENTION = KEYS._revision("0009_audit_retention.py")


def _amend(sql: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        sql = KEYS._replaced(sql, old, new)
    return sql


SOFT_DELETE = f"""CREATE FUNCTION {SCHEMA}.soft_delete(p_tenant uuid, p_kind text, p_id uuid,
  p_version integer) RETURNS boolean LANGUAGE plpgsql SECURITY INVOKER AS $fn$
DECLARE
  v_object jsonb;
  v_related jsonb := '{{}}'::jsonb;
  v_part jsonb;
  v_link record;
BEGIN
  IF p_kind NOT IN {KINDS} THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'no deleted items of ' || p_kind;
  END IF;
  EXECUTE pg_catalog.format('SELECT to_jsonb(o) FROM public.%I o WHERE o.tenant_id = $1 AND o.id = $2'
    ' AND ($3::integer IS NULL OR o.version = $3) FOR UPDATE', p_kind)
    INTO v_object USING p_tenant, p_id, p_version;
  IF v_object IS NULL THEN
    RETURN false;
  END IF;
  IF p_kind = 'groups' AND v_object ->> 'kind' = 'security' THEN  -- deleted at once, as in Entra
    DELETE FROM public.groups g WHERE g.tenant_id = p_tenant AND g.id = p_id;
    RETURN true;
  END IF;
  FOR v_link IN SELECT l.child, l.col FROM {RELATED} WHERE l.kind = p_kind LOOP
    EXECUTE pg_catalog.format('SELECT coalesce(jsonb_agg(to_jsonb(c)), ''[]'') FROM public.%I c'
      ' WHERE c.tenant_id = $1 AND c.%I = $2', v_link.child, v_link.col) INTO v_part USING p_tenant, p_id;
    v_related := v_related || jsonb_build_object(v_link.child,
      coalesce(v_related -> v_link.child, '[]'::jsonb) || v_part);
  END LOOP;
  IF p_kind = 'applications' THEN
    PERFORM {SCHEMA}.soft_delete(p_tenant, 'service_principals', s.id, NULL) FROM public.service_principals s
      WHERE s.tenant_id = p_tenant AND s.app_id = (v_object ->> 'app_id')::uuid;
  END IF;
  INSERT INTO public.deleted_items (tenant_id, id, kind, display_name, deleted_at, object, related)
    VALUES (p_tenant, p_id, p_kind, v_object ->> 'display_name', now(), v_object, v_related);
  EXECUTE pg_catalog.format('DELETE FROM public.%I WHERE tenant_id = $1 AND id = $2', p_kind)
    USING p_tenant, p_id;
  RETURN true;
END
$fn$"""

# The kind restored, or NULL when no such item; a related row whose other side is gone stays out.
RESTORE = f"""CREATE FUNCTION {SCHEMA}.restore_deleted(p_tenant uuid, p_id uuid)
RETURNS text LANGUAGE plpgsql SECURITY INVOKER AS $fn$
DECLARE
  v_item public.deleted_items;
  v_child text;
  v_row jsonb;
BEGIN
  PERFORM pg_catalog.set_config('corestore.restoring', p_id::text, true);
  DELETE FROM public.deleted_items d WHERE d.tenant_id = p_tenant AND d.id = p_id RETURNING * INTO v_item;
  IF NOT FOUND THEN
    PERFORM pg_catalog.set_config('corestore.restoring', '', true);
    RETURN NULL;
  END IF;
  EXECUTE pg_catalog.format('INSERT INTO public.%I SELECT * FROM jsonb_populate_record(NULL::public.%I, $1)',
    v_item.kind, v_item.kind) USING v_item.object;
  FOR v_child IN SELECT jsonb_object_keys(v_item.related) LOOP
    FOR v_row IN SELECT jsonb_array_elements(v_item.related -> v_child) LOOP
      BEGIN
        EXECUTE pg_catalog.format('INSERT INTO public.%I SELECT * FROM jsonb_populate_record('
          'NULL::public.%I, $1) ON CONFLICT DO NOTHING', v_child, v_child) USING v_row;
      EXCEPTION WHEN foreign_key_violation THEN
        NULL;
      END;
    END LOOP;
  END LOOP;
  PERFORM pg_catalog.set_config('corestore.restoring', '', true);
  RETURN v_item.kind;
END
$fn$"""

QUERY_ARGS = (
    "p_tenant uuid, p_kind text, p_limit integer, p_condition text, p_args text[], "
    "p_after uuid, p_count boolean"
)
QUERY_TYPES = "uuid, text, integer, text, text[], uuid, boolean"
OBJECTS = ", ".join(f"{kind} public.{kind}" for kind in KINDS)
# A page of one kind's items in id order, the kind's own `$filter` condition run on the row as it
# was (the lateral row bears the table's name, as the condition's columns do); see directory_0004.
QUERY = f"""CREATE FUNCTION {SCHEMA}.deleted_items_query({QUERY_ARGS})
RETURNS TABLE(id uuid, kind varchar, deleted_at timestamptz, {OBJECTS}, total bigint)
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
DECLARE
  v_from text;
  v_where text := ' WHERE d.tenant_id = $1 AND d.kind = $2';
  v_columns text;
  v_total bigint;
BEGIN
PERFORM {SCHEMA}.enter_tenant(p_tenant, false);
IF p_kind NOT IN {KINDS} THEN
  RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'no deleted items of ' || p_kind;
END IF;
v_from := pg_catalog.format(' FROM public.deleted_items d, LATERAL jsonb_populate_record(NULL::public.%I,'
  ' d.object) AS %I', p_kind, p_kind);
SELECT string_agg(CASE WHEN k = p_kind THEN pg_catalog.format('%I', k) ELSE 'NULL::public.' || k END, ', '
  ORDER BY o) INTO v_columns FROM unnest(ARRAY{list(KINDS)}) WITH ORDINALITY AS x(k, o);
IF p_condition IS NOT NULL THEN
  v_where := v_where || ' AND (' || p_condition || ')';
END IF;
IF p_count THEN
  EXECUTE 'SELECT pg_catalog.count(*)' || v_from || v_where INTO v_total
    USING p_tenant, p_kind, p_limit, p_args, p_after;
END IF;
RETURN QUERY EXECUTE 'SELECT d.id, d.kind, d.deleted_at, ' || v_columns || ', $6' || v_from || v_where
  || ' AND d.id > $5 ORDER BY d.id LIMIT $3' USING p_tenant, p_kind, p_limit, p_args, p_after, v_total;
IF p_count AND NOT FOUND THEN
  RETURN QUERY SELECT NULL::uuid, NULL::varchar, NULL::timestamptz,
    NULL::public.users, NULL::public.groups, NULL::public.applications, NULL::public.service_principals,
    v_total;
END IF;
END
$fn$"""

BY_ID = f"""CREATE FUNCTION {SCHEMA}.deleted_item_by_id(p_tenant uuid, p_id uuid)
RETURNS TABLE(id uuid, kind varchar, deleted_at timestamptz, {OBJECTS})
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
BEGIN
PERFORM {SCHEMA}.enter_tenant(p_tenant, false);
RETURN QUERY SELECT d.id, d.kind, d.deleted_at, {
    ", ".join(
        f"CASE WHEN d.kind = '{kind}' THEN jsonb_populate_record(NULL::public.{kind}, d.object) END"
        for kind in KINDS
    )
}
  FROM public.deleted_items d WHERE d.tenant_id = p_tenant AND d.id = p_id;
END
$fn$"""

# A permanent delete of a user or group is a change of its own for delta rounds.
RECORD_PURGE = f"""CREATE FUNCTION {SCHEMA}.record_purge() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
BEGIN
  IF NULLIF(current_setting('corestore.restoring', true), '') IS NOT NULL
    OR OLD.kind NOT IN ('users', 'groups')
    OR NOT EXISTS (SELECT 1 FROM public.tenants t WHERE t.tenant_id = OLD.tenant_id) THEN
    RETURN NULL;
  END IF;
  UPDATE public.directory_changes c SET xid = pg_catalog.pg_current_xact_id()::text::bigint, removed = true
    WHERE c.tenant_id = OLD.tenant_id AND c.kind = OLD.kind AND c.object_id = OLD.id;
  RETURN NULL;
END
$fn$"""


def _audit_change() -> str:
    """The audit trigger as directory_0010 left it, told of restores and permanent deletes."""
    return _amend(
        KEYS._audit_change(with_keys=True),
        [
            (
                "  initiated jsonb := jsonb_build_object('user', NULL, 'app', NULL);\nBEGIN\n",
                "  initiated jsonb := jsonb_build_object('user', NULL, 'app', NULL);\n"
                "  restoring text := NULLIF(current_setting('corestore.restoring', true), '');\n"
                "  v_kind text := TG_TABLE_NAME;\nBEGIN\n",
            ),
            (
                "    RETURN NULL;\n  END IF;\n  IF TG_OP <> 'DELETE' THEN",
                "    RETURN NULL;\n  END IF;\n"
                "  IF restoring IS NOT NULL THEN\n"
                "    IF TG_TABLE_NAME = 'deleted_items' OR obj ->> 'id' IS DISTINCT FROM restoring THEN\n"
                "      RETURN NULL;\n    END IF;\n"
                "    verb := 'Restore';\n"
                "  ELSIF TG_TABLE_NAME = 'deleted_items' THEN\n"
                "    v_kind := before ->> 'kind';\n    before := before -> 'object';\n    obj := before;\n"
                "    verb := 'Hard Delete';\n"
                "  END IF;\n  IF TG_OP <> 'DELETE' THEN",
            ),
            ("  CASE TG_TABLE_NAME\n", "  CASE v_kind\n"),
            (
                "CASE TG_OP WHEN 'DELETE' THEN 'Remove' ELSE verb END || ' service principal'",
                "CASE verb WHEN 'Delete' THEN 'Remove' ELSE verb END || ' service principal'",
            ),
            (
                "CASE TG_OP WHEN 'INSERT' THEN 'Add' WHEN 'UPDATE' THEN 'Update' ELSE 'Delete' END,\n"
                "      (actor",
                "CASE WHEN verb = 'Restore' THEN 'Restore' WHEN TG_OP = 'INSERT' THEN 'Add'"
                " WHEN TG_OP = 'UPDATE' THEN 'Update' ELSE 'Delete' END,\n      (actor",
            ),
        ],
    )


def _guarded_delta(table: str) -> str:
    """directory_0005's delta page as directory_0006 left it: the tenant entered past the fence."""
    return _amend(CHANGES._delta(table), [(KEYS.MOVES.PLAIN, KEYS.MOVES.GUARDED)])


def _delta(table: str) -> str:
    """The delta page, each removed object saying whether it is in the bin."""
    return _amend(
        _guarded_delta(table),
        [
            ("snapshot_xmin bigint)", "snapshot_xmin bigint, in_bin boolean)"),
            ("SELECT o.id, o, NULL::bigint FROM", "SELECT o.id, o, NULL::bigint, false FROM"),
            (
                "SELECT c.object_id, o, NULL::bigint FROM",
                "SELECT c.object_id, o, NULL::bigint, EXISTS (SELECT 1 FROM public.deleted_items d"
                " WHERE d.tenant_id = c.tenant_id AND d.id = c.object_id) FROM",
            ),
            (f"NULL::public.{table}, v_xmin;", f"NULL::public.{table}, v_xmin, NULL::boolean;"),
        ],
    )


DELTA_TYPES = "uuid, uuid, integer, bigint"


def upgrade() -> None:
    op.create_table(
        "deleted_items",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("object", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.Column("related", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS}", name=op.f("ck_deleted_items_kind")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_deleted_items_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_deleted_items")),
    )
    op.create_index("ix_deleted_items_kind", "deleted_items", ["tenant_id", "kind", "id"])
    op.create_index("ix_deleted_items_deleted_at", "deleted_items", ["tenant_id", "deleted_at"])
    op.execute("ALTER TABLE deleted_items ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE deleted_items FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON deleted_items "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, DELETE ON deleted_items TO {APP_ROLE}")
    for function in (SOFT_DELETE, RESTORE, QUERY, BY_ID, RECORD_PURGE, _audit_change()):
        op.execute(function)
    op.execute(
        "CREATE TRIGGER audit_change AFTER DELETE ON deleted_items "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.audit_change()"
    )
    op.execute(
        "CREATE TRIGGER record_purge AFTER DELETE ON deleted_items "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.record_purge()"
    )
    _replace_deltas(CHANGES.KINDS, _delta)
    op.execute("DROP TRIGGER purge_expired ON directory_audits")
    op.execute(f"DROP FUNCTION {SCHEMA}.purge_expired_audits()")
    _grant_functions()


def _replace_deltas(tables: tuple[str, ...], make: Callable[[str], str]) -> None:
    """Delta functions change their columns: dropped and made again."""
    for table in tables:
        op.execute(f"DROP FUNCTION {SCHEMA}.{table}_delta({DELTA_TYPES})")
        op.execute(make(table))


def _grant_functions() -> None:
    op.execute(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {SCHEMA} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {SCHEMA} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(RETENTION.PURGE)
    op.execute(
        "CREATE TRIGGER purge_expired AFTER INSERT ON directory_audits "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.purge_expired_audits()"
    )
    _replace_deltas(CHANGES.KINDS, _guarded_delta)
    op.drop_table("deleted_items")
    op.execute(KEYS._audit_change(with_keys=True))
    op.execute(f"DROP FUNCTION {SCHEMA}.record_purge()")
    op.execute(f"DROP FUNCTION {SCHEMA}.deleted_item_by_id(uuid, uuid)")
    op.execute(f"DROP FUNCTION {SCHEMA}.deleted_items_query({QUERY_TYPES})")
    op.execute(f"DROP FUNCTION {SCHEMA}.restore_deleted(uuid, uuid)")
    op.execute(f"DROP FUNCTION {SCHEMA}.soft_delete(uuid, text, uuid, integer)")
    _grant_functions()
