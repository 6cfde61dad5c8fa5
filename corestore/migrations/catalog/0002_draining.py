"""A scale unit can stop taking new tenants (it drains before it is retired).

Revision ID: catalog_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0002"
down_revision = "catalog_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "scale_units",
        sa.Column("accepts_tenants", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("scale_units", "accepts_tenants")
