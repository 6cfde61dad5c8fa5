"""Tenant moves: the write fence, enforced in the database, and the catch-up mark.

`corestore.tenant_fences`: a tenant fenced on this unit (`fenced`: writes refused
while a move catches up; `moved`: it lives elsewhere now, reads refused too). It
stays after a move, so a process with a stale placement learns where the tenant went.

`corestore.enter_tenant(tenant, write)` replaces every plain `set_config` of the
tenant: a write transaction's first statement and each read function's. A write
takes the tenant's advisory lock in shared mode until it commits, so the fence
(the lock in exclusive mode) waits for every write in flight, and a write that
comes after it sees the fence row and is refused with SQLSTATE CS001 (nothing
written). A test checks that every function setting the tenant goes through it.

`tenants.move_mark`: written by the mover after the fence; once the target shows
it, every write committed on the source before it has been applied there.

Revision ID: directory_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "directory_0006"
down_revision = "directory_0005"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
PLAIN = "PERFORM pg_catalog.set_config('corestore.tenant_id', p_tenant::text, true);"
GUARDED = f"PERFORM {SCHEMA}.enter_tenant(p_tenant, false);"

ENTER_TENANT = f"""CREATE FUNCTION {SCHEMA}.enter_tenant(p_tenant uuid, p_write boolean)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
DECLARE
  fence record;
BEGIN
  PERFORM pg_catalog.set_config('corestore.tenant_id', p_tenant::text, true);
  IF p_write THEN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_tenant::text, 0));
  END IF;
  SELECT state, moved_to INTO fence FROM {SCHEMA}.tenant_fences WHERE tenant_id = p_tenant;
  IF FOUND AND (p_write OR fence.state = 'moved') THEN
    RAISE EXCEPTION USING ERRCODE = 'CS001', MESSAGE = 'tenant ' || p_tenant || ' is '
      || CASE fence.state WHEN 'moved' THEN 'moved' ELSE 'moving' END || ' to ' || fence.moved_to;
  END IF;
END
$fn$"""

# Every function of the schema that sets the tenant, rewritten from `before` to `after`.
REWRITE = """DO $do$
DECLARE f record;
BEGIN
  FOR f IN SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = '{schema}' AND p.proname <> 'enter_tenant' AND strpos(p.prosrc, {before}) > 0
  LOOP
    EXECUTE replace(pg_get_functiondef(f.oid), {before}, {after});
  END LOOP;
END
$do$"""


def _rewrite(before: str, after: str) -> str:
    quote = "$q${}$q$".format
    return REWRITE.format(schema=SCHEMA, before=quote(before), after=quote(after))


def upgrade() -> None:
    op.add_column("tenants", sa.Column("move_mark", sa.Uuid(), nullable=True))
    op.create_table(
        "tenant_fences",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("moved_to", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("fenced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("state IN ('fenced', 'moved')", name="ck_tenant_fences_state"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenant_fences"),
        schema=SCHEMA,
    )
    op.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON {SCHEMA}.tenant_fences TO {APP_ROLE}")
    op.execute(ENTER_TENANT)
    op.execute(_rewrite(PLAIN, GUARDED))
    op.execute(f"REVOKE ALL ON FUNCTION {SCHEMA}.enter_tenant(uuid, boolean) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SCHEMA}.enter_tenant(uuid, boolean) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(_rewrite(GUARDED, PLAIN))
    op.execute(f"DROP FUNCTION {SCHEMA}.enter_tenant(uuid, boolean)")
    op.drop_table("tenant_fences", schema=SCHEMA)
    op.drop_column("tenants", "move_mark")
