"""Tenant moves: placement carries an epoch, and a move in flight has a row.

`tenants.epoch` counts the tenant's moves; the flip of a move raises it in the same
transaction that names the new unit. `moves` holds at most one move per tenant,
with its phase, so a rerun after the mover died knows whether to undo (before the
flip) or finish (after it).

Revision ID: catalog_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0003"
down_revision = "catalog_0002"
branch_labels = None
depends_on = None

APP_ROLE = "corestore_app"


def upgrade() -> None:
    op.add_column("tenants", sa.Column("epoch", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "moves",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("phase IN ('copying', 'fenced', 'flipped')", name=op.f("ck_moves_phase")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_moves_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_moves")),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON moves TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("moves")
    op.drop_column("tenants", "epoch")
