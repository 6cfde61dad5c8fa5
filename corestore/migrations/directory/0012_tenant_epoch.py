"""Tenant moves: the placement epoch in the tenant's own unit's database.

`tenants.epoch` is written by the mover on the target inside the fence, before the catalog
flips, with the epoch the flip gives. A delta page reads it in the statement that reads its
changes (`corestore.tenant_epoch`), so a token of another epoch is refused whatever placement
the serving process has cached: after a move A -> B -> A within a cache's life, A's
first-epoch tokens must not be honoured (the changes made on B carry B's transaction ids).

Revision ID: directory_0012
"""

import sqlalchemy as sa
from alembic import op

revision = "directory_0012"
down_revision = "directory_0011"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
EPOCH = f"""CREATE FUNCTION {SCHEMA}.tenant_epoch(p_tenant uuid) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
BEGIN
  PERFORM {SCHEMA}.enter_tenant(p_tenant, false);
  RETURN (SELECT epoch FROM public.tenants WHERE tenant_id = p_tenant);
END
$fn$"""


def upgrade() -> None:
    op.add_column("tenants", sa.Column("epoch", sa.Integer(), server_default="0", nullable=False))
    op.execute(EPOCH)
    op.execute(f"REVOKE ALL ON FUNCTION {SCHEMA}.tenant_epoch(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SCHEMA}.tenant_epoch(uuid) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SCHEMA}.tenant_epoch(uuid)")
    op.drop_column("tenants", "epoch")
