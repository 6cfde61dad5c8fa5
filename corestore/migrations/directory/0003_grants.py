"""Authorization-code flow state: redirect URIs, codes, refresh-token families.

Each table is tenant-led with forced row-level security, like every other; the
one hot read (the sign-in page's client check) is a tenant function, as in
directory_0002.

Revision ID: directory_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "directory_0003"
down_revision = "directory_0002"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
CURRENT_TENANT = "(SELECT NULLIF(current_setting('corestore.tenant_id', true), '')::uuid)"
TABLES = ("redirect_uris", "authorization_codes", "refresh_tokens")
NOW = sa.text("now()")

# The application's enabled-ness (its service principal) and every registered redirect
# URI, one row each (a principal with none still gives one row, platform NULL).
CLIENT_REGISTRATION = f"""CREATE FUNCTION {SCHEMA}.client_registration(p_tenant uuid, p_app_id uuid)
RETURNS TABLE(account_enabled boolean, platform text, uri text)
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
#variable_conflict use_column
BEGIN
PERFORM pg_catalog.set_config('corestore.tenant_id', p_tenant::text, true);
RETURN QUERY SELECT p.account_enabled, r.platform::text, r.uri::text
  FROM public.service_principals p
  JOIN public.applications a ON a.tenant_id = p.tenant_id AND a.app_id = p.app_id
  LEFT JOIN public.redirect_uris r ON r.tenant_id = a.tenant_id AND r.application_id = a.id
  WHERE p.tenant_id = p_tenant AND p.app_id = p_app_id;
END
$fn$"""


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "user_id"],
        ["users.tenant_id", "users.id"],
        name=op.f(f"fk_{table}_tenant_id_user_id"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "redirect_uris",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("uri", sa.String(length=256), nullable=False),
        sa.CheckConstraint(
            "platform IN ('web', 'spa', 'publicClient')", name=op.f("ck_redirect_uris_platform")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "application_id"],
            ["applications.tenant_id", "applications.id"],
            name=op.f("fk_redirect_uris_tenant_id_application_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "application_id", "platform", "uri", name=op.f("pk_redirect_uris")
        ),
    )
    op.create_table(
        "authorization_codes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("app_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=256), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("nonce", sa.String(length=256), nullable=True),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _user_fk("authorization_codes"),
        sa.PrimaryKeyConstraint("tenant_id", "code_hash", name=op.f("pk_authorization_codes")),
    )
    op.create_index("ix_authorization_codes_user", "authorization_codes", ["tenant_id", "user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _user_fk("refresh_tokens"),
        sa.PrimaryKeyConstraint("tenant_id", "token_hash", name=op.f("pk_refresh_tokens")),
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["tenant_id", "family_id"])
    op.create_index("ix_refresh_tokens_user", "refresh_tokens", ["tenant_id", "user_id"])
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(CLIENT_REGISTRATION)
    op.execute(f"REVOKE ALL ON FUNCTION {SCHEMA}.client_registration(uuid, uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SCHEMA}.client_registration(uuid, uuid) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SCHEMA}.client_registration(uuid, uuid)")
    for table in reversed(TABLES):
        op.drop_table(table)
