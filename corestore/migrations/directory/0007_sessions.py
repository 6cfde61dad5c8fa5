"""Revocation: when a user's sign-in sessions were last revoked.

Graph's `signInSessionsValidFromDateTime`: revoking sessions (explicitly, or by a
password change or reset, or by disabling the account) sets it to the commit's
`now()` and deletes the user's refresh tokens and authorization codes in the same
transaction; a grant that began before it cannot record a refresh token after it
(`corestore.directory.sessions`).

Revision ID: directory_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "directory_0007"
down_revision = "directory_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("sign_in_sessions_valid_from", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("users", "sign_in_sessions_valid_from")
