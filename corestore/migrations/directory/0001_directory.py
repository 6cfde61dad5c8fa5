"""A scale unit's directory database: every table, each with forced row-level security.

Revision ID: directory_0001
"""

from alembic import op

from corestore import rls
from corestore.schema import Base

revision = "directory_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    Base.metadata.create_all(bind)
    for table in Base.metadata.sorted_tables:
        for statement in rls.policy_statements(table.name):
            op.execute(statement)


def downgrade() -> None:
    Base.metadata.drop_all(op.get_bind())
