"""Audit retention: records older than `corestore.audit_retention` (default 30 days) go.

Each new audit record removes at most `BATCH` of its tenant's expired records, oldest
first, in the same transaction: retention keeps pace with the changes that make records,
each step bounded, found through the (tenant_id, activity_at) index, and under the
tenant's own row-level security (no role crosses tenants to purge). The age is a
setting an operator can change per database (`ALTER DATABASE ... SET
corestore.audit_retention = '90 days'`). A tenant that changes nothing keeps its
expired records until its next change.

Revision ID: directory_0009
"""

from alembic import op

revision = "directory_0009"
down_revision = "directory_0008"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
BATCH = 10
DEFAULT_RETENTION = "30 days"

PURGE = f"""CREATE FUNCTION {SCHEMA}.purge_expired_audits() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
BEGIN
  DELETE FROM public.directory_audits WHERE tenant_id = NEW.tenant_id AND id IN (
    SELECT a.id FROM public.directory_audits a WHERE a.tenant_id = NEW.tenant_id
      AND a.activity_at < now() - coalesce(NULLIF(current_setting('corestore.audit_retention', true), ''),
        '{DEFAULT_RETENTION}')::interval
    ORDER BY a.activity_at LIMIT {BATCH});
  RETURN NULL;
END
$fn$"""


def upgrade() -> None:
    op.execute(PURGE)
    op.execute(
        "CREATE TRIGGER purge_expired AFTER INSERT ON directory_audits "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.purge_expired_audits()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER purge_expired ON directory_audits")
    op.execute(f"DROP FUNCTION {SCHEMA}.purge_expired_audits()")
