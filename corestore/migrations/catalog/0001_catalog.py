"""A cloud's tenant catalog: scale unit slots, tenants' placement, verified domains.

No row-level security here on purpose: the catalog is read before a tenant is known
(sign-in discovery by domain) and holds routing metadata only, no directory data.
Frozen: explicit operations; later changes are new revisions.

Revision ID: catalog_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0001"
down_revision = None
branch_labels = None
depends_on = None

APP_ROLE = "corestore_app"
TABLES = ("scale_units", "tenants", "domains")


def upgrade() -> None:
    op.create_table(
        "scale_units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("geo", sa.String(length=32), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("tenant_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("tenant_count <= capacity", name=op.f("ck_scale_units_within_capacity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scale_units")),
    )
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("geo", sa.String(length=32), nullable=False),
        sa.Column("scale_unit", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("state IN ('creating', 'active', 'deleting')", name=op.f("ck_tenants_state")),
        sa.ForeignKeyConstraint(["scale_unit"], ["scale_units.id"], name=op.f("fk_tenants_scale_unit")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "domains",
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_domains_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_domains")),
    )
    op.create_index(op.f("ix_domains_tenant_id"), "domains", ["tenant_id"], unique=False)
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
