"""A cloud's tenant catalog: scale unit slots, tenants' placement, verified domains.

No row-level security here on purpose: the catalog is read before a tenant is known
(sign-in discovery by domain) and holds routing metadata only, no directory data.

Revision ID: catalog_0001
"""

from alembic import op

from corestore.catalog_schema import CatalogBase
from corestore.rls import APP_ROLE

revision = "catalog_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    CatalogBase.metadata.create_all(op.get_bind())
    for table in CatalogBase.metadata.sorted_tables:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table.name} TO {APP_ROLE}")


def downgrade() -> None:
    CatalogBase.metadata.drop_all(op.get_bind())
