"""A scale unit's directory database: every table, each with forced row-level security.

Frozen: explicit operations, never built from the live models; every later change
to `corestore.schema` is a new revision (a test compares the migrated schema with
the models).

Revision ID: directory_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "directory_0001"
down_revision = None
branch_labels = None
depends_on = None

APP_ROLE = "corestore_app"
CURRENT_TENANT = "(SELECT NULLIF(current_setting('corestore.tenant_id', true), '')::uuid)"
TABLES = (
    "tenants",
    "applications",
    "groups",
    "sign_ins",
    "users",
    "client_secrets",
    "devices",
    "memberships",
    "service_principals",
)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "applications",
        sa.Column("app_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_applications_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_applications")),
    )
    op.create_index(
        "ix_applications_display_name", "applications", ["tenant_id", "display_name"], unique=False
    )
    op.create_index("uq_applications_app_id", "applications", ["tenant_id", "app_id"], unique=True)
    op.create_table(
        "groups",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mail_nickname", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('security', 'microsoft365')", name=op.f("ck_groups_kind")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_groups_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_groups")),
    )
    op.create_index("ix_groups_display_name", "groups", ["tenant_id", "display_name"], unique=False)
    op.create_index("ix_groups_kind", "groups", ["tenant_id", "kind"], unique=False)
    op.create_index(
        "uq_groups_mail_nickname",
        "groups",
        ["tenant_id", sa.literal_column("lower(mail_nickname)")],
        unique=True,
    )
    op.create_table(
        "sign_ins",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.Column("principal", sa.String(length=256), nullable=False),
        sa.Column("principal_id", sa.Uuid(), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_sign_ins_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sign_ins")),
    )
    op.create_index("ix_sign_ins_created", "sign_ins", ["tenant_id", "created_at"], unique=False)
    op.create_table(
        "users",
        sa.Column("user_principal_name", sa.String(length=256), nullable=False),
        sa.Column("mail", sa.String(length=256), nullable=True),
        sa.Column("account_enabled", sa.Boolean(), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("extension", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_users_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_users")),
    )
    op.create_index("ix_users_display_name", "users", ["tenant_id", "display_name"], unique=False)
    op.create_index("ix_users_mail", "users", ["tenant_id", sa.literal_column("lower(mail)")], unique=False)
    op.create_index(
        "uq_users_upn", "users", ["tenant_id", sa.literal_column("lower(user_principal_name)")], unique=True
    )
    op.create_table(
        "client_secrets",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "application_id"],
            ["applications.tenant_id", "applications.id"],
            name=op.f("fk_client_secrets_tenant_id_application_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_client_secrets")),
    )
    op.create_index(
        "ix_client_secrets_application", "client_secrets", ["tenant_id", "application_id"], unique=False
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("operating_system", sa.String(length=64), nullable=False),
        sa.Column("trust_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "trust_type IN ('AzureAd', 'ServerAd', 'Workplace')", name=op.f("ck_devices_trust_type")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_devices_tenant_id_owner_id"),
            ondelete="SET NULL (owner_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_devices_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_devices")),
    )
    op.create_index("ix_devices_display_name", "devices", ["tenant_id", "display_name"], unique=False)
    op.create_index("ix_devices_operating_system", "devices", ["tenant_id", "operating_system"], unique=False)
    op.create_index("ix_devices_owner", "devices", ["tenant_id", "owner_id"], unique=False)
    op.create_index("ix_devices_trust_type", "devices", ["tenant_id", "trust_type"], unique=False)
    op.create_index("uq_devices_device_id", "devices", ["tenant_id", "device_id"], unique=True)
    op.create_table(
        "memberships",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("member_user_id", sa.Uuid(), nullable=True),
        sa.Column("member_group_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("member_group_id IS DISTINCT FROM group_id", name=op.f("ck_memberships_not_self")),
        sa.CheckConstraint(
            "num_nonnulls(member_user_id, member_group_id) = 1 "
            "AND member_id = coalesce(member_user_id, member_group_id)",
            name=op.f("ck_memberships_one_member"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["groups.tenant_id", "groups.id"],
            name=op.f("fk_memberships_tenant_id_group_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_group_id"],
            ["groups.tenant_id", "groups.id"],
            name=op.f("fk_memberships_tenant_id_member_group_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_memberships_tenant_id_member_user_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "group_id", "member_id", name=op.f("pk_memberships")),
    )
    op.create_index("ix_memberships_member", "memberships", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "service_principals",
        sa.Column("app_id", sa.Uuid(), nullable=False),
        sa.Column("account_enabled", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "app_id"],
            ["applications.tenant_id", "applications.app_id"],
            name=op.f("fk_service_principals_tenant_id_app_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_service_principals_tenant_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_service_principals")),
    )
    op.create_index(
        "uq_service_principals_app_id", "service_principals", ["tenant_id", "app_id"], unique=True
    )
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
