"""The one schema definition of a scale unit's directory database.

Every table leads its keys with `tenant_id`; row-level security (see `rls.py`)
is enabled and forced on every table of this metadata by the first migration.
One module over 300 lines on purpose: it is the whole schema, which the migration test
compares with the migrated database as one metadata.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    MetaData,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _tenant_fk(table: str, *columns: str, ondelete: str = "CASCADE") -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", *columns],
        [f"{table}.tenant_id", *(f"{table}.id" for _ in columns)],
        ondelete=ondelete,
    )


class TenantRow(Base):
    """The tenant's own row in its scale unit: every other row hangs off it."""

    __tablename__ = "tenants"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(256))
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = _now()
    move_mark: Mapped[uuid.UUID | None]  # written by a move after its fence (migration directory_0006)
    epoch: Mapped[int] = mapped_column(server_default="0")  # the placement's, by a move (directory_0012)


class ObjectRow(Base):
    """Columns every directory object has: tenant-led key, version for ETags, timestamps."""

    __abstract__ = True
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    display_name: Mapped[str] = mapped_column(String(256))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def _tenant_parent() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE")


class UserRow(ObjectRow):
    __tablename__ = "users"
    user_principal_name: Mapped[str] = mapped_column(String(256))
    mail: Mapped[str | None] = mapped_column(String(256))
    mail_nickname: Mapped[str | None] = mapped_column(String(64))
    account_enabled: Mapped[bool] = mapped_column(default=True)
    admin: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    extension: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    sign_in_sessions_valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        _tenant_parent(),
        Index("uq_users_upn", "tenant_id", text("lower(user_principal_name)"), unique=True),
        Index("ix_users_mail", "tenant_id", text("lower(mail)")),
        Index("ix_users_display_name", "tenant_id", "display_name"),
    )


class GroupRow(ObjectRow):
    __tablename__ = "groups"
    kind: Mapped[str] = mapped_column(String(16), default="security")
    mail_nickname: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(1024))
    __table_args__ = (
        _tenant_parent(),
        CheckConstraint("kind IN ('security', 'microsoft365')", name="kind"),
        Index("uq_groups_mail_nickname", "tenant_id", text("lower(mail_nickname)"), unique=True),
        Index("ix_groups_display_name", "tenant_id", "display_name"),
        Index("ix_groups_kind", "tenant_id", "kind"),
    )


class MembershipRow(Base):
    """A user or a group directly in a group; nesting gives transitive membership."""

    __tablename__ = "memberships"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    member_user_id: Mapped[uuid.UUID | None]
    member_group_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        _tenant_fk("groups", "group_id"),
        ForeignKeyConstraint(
            ["tenant_id", "member_user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "member_group_id"], ["groups.tenant_id", "groups.id"], ondelete="CASCADE"
        ),
        CheckConstraint(
            "num_nonnulls(member_user_id, member_group_id) = 1 "
            "AND member_id = coalesce(member_user_id, member_group_id)",
            name="one_member",
        ),
        CheckConstraint("member_group_id IS DISTINCT FROM group_id", name="not_self"),
        Index("ix_memberships_member", "tenant_id", "member_id"),
    )


class ApplicationRow(ObjectRow):
    __tablename__ = "applications"
    app_id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    __table_args__ = (
        _tenant_parent(),
        Index("uq_applications_app_id", "tenant_id", "app_id", unique=True),
        Index("ix_applications_display_name", "tenant_id", "display_name"),
    )


class ServicePrincipalRow(ObjectRow):
    """The application's identity in its tenant: what client credentials sign in as."""

    __tablename__ = "service_principals"
    app_id: Mapped[uuid.UUID]
    account_enabled: Mapped[bool] = mapped_column(default=True)
    __table_args__ = (
        _tenant_parent(),
        ForeignKeyConstraint(
            ["tenant_id", "app_id"],
            ["applications.tenant_id", "applications.app_id"],
            ondelete="CASCADE",
        ),
        Index("uq_service_principals_app_id", "tenant_id", "app_id", unique=True),
    )


class ClientSecretRow(Base):
    """A client secret, stored only as a keyed hash (HMAC-SHA256): it has full entropy."""

    __tablename__ = "client_secrets"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID]
    hint: Mapped[str] = mapped_column(String(8))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        _tenant_fk("applications", "application_id"),
        Index("ix_client_secrets_application", "tenant_id", "application_id"),
    )


class DeviceRow(ObjectRow):
    __tablename__ = "devices"
    device_id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    operating_system: Mapped[str] = mapped_column(String(64))
    operating_system_version: Mapped[str | None] = mapped_column(String(64))
    account_enabled: Mapped[bool] = mapped_column(default=True)
    trust_type: Mapped[str] = mapped_column(String(16), default="AzureAd")
    owner_id: Mapped[uuid.UUID | None]
    __table_args__ = (
        _tenant_parent(),
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["users.tenant_id", "users.id"], ondelete="SET NULL (owner_id)"
        ),
        CheckConstraint("trust_type IN ('AzureAd', 'ServerAd', 'Workplace')", name="trust_type"),
        Index("uq_devices_device_id", "tenant_id", "device_id", unique=True),
        Index("ix_devices_display_name", "tenant_id", "display_name"),
        Index("ix_devices_owner", "tenant_id", "owner_id"),
        Index("ix_devices_operating_system", "tenant_id", "operating_system"),
        Index("ix_devices_trust_type", "tenant_id", "trust_type"),
    )


class SignInRow(Base):
    """A token request's outcome, kept in the tenant's own scale unit (inside its geo)."""

    __tablename__ = "sign_ins"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = _now()
    result: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(256))
    principal: Mapped[str] = mapped_column(String(256))
    principal_id: Mapped[uuid.UUID | None]
    client_address: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64))
    __table_args__ = (_tenant_parent(), Index("ix_sign_ins_created", "tenant_id", "created_at"))


class RedirectUriRow(Base):
    """A redirect URI registered on an application, under its platform as in Graph."""

    __tablename__ = "redirect_uris"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    uri: Mapped[str] = mapped_column(String(256), primary_key=True)
    __table_args__ = (
        _tenant_fk("applications", "application_id"),
        CheckConstraint("platform IN ('web', 'spa', 'publicClient')", name="platform"),
    )


class AuthorizationCodeRow(Base):
    """An authorization code, kept as its SHA-256 until redeemed (once) or expired."""

    __tablename__ = "authorization_codes"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    app_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    redirect_uri: Mapped[str] = mapped_column(String(256))
    platform: Mapped[str] = mapped_column(String(16))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    nonce: Mapped[str | None] = mapped_column(String(256))
    scope: Mapped[str] = mapped_column(String(1024))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        _tenant_fk("users", "user_id"),
        Index("ix_authorization_codes_user", "tenant_id", "user_id"),
    )


class RefreshTokenRow(Base):
    """A refresh token (its SHA-256) in its rotation family: redeemed once; a replay ends the family."""

    __tablename__ = "refresh_tokens"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    family_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    client_id: Mapped[str | None] = mapped_column(String(64))
    confidential: Mapped[bool] = mapped_column(default=False)  # its client must authenticate to redeem
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        _tenant_fk("users", "user_id"),
        Index("ix_refresh_tokens_family", "tenant_id", "family_id"),
        Index("ix_refresh_tokens_user", "tenant_id", "user_id"),
    )


class AppRoleAssignmentRow(Base):
    """An app role (of Microsoft Graph) granted to a service principal: what its app tokens carry."""

    __tablename__ = "app_role_assignments"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    principal_id: Mapped[uuid.UUID]
    resource_id: Mapped[uuid.UUID]
    app_role_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        _tenant_fk("service_principals", "principal_id"),
        Index(
            "uq_app_role_assignments_grant",
            "tenant_id",
            "principal_id",
            "resource_id",
            "app_role_id",
            unique=True,
        ),
        Index("ix_app_role_assignments_resource", "tenant_id", "resource_id"),
    )


class DirectoryChangeRow(Base):
    """The last transaction (xid8 as bigint) that wrote a user or group, kept by a trigger
    (migration directory_0005); `removed` marks a tombstone. Read by delta queries."""

    __tablename__ = "directory_changes"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    object_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    xid: Mapped[int] = mapped_column(BigInteger)
    removed: Mapped[bool]
    __table_args__ = (_tenant_parent(), Index("ix_directory_changes_xid", "tenant_id", "kind", "xid"))


class DirectoryAuditRow(Base):
    """Graph's directoryAudit: one per change, written by a trigger in the change's transaction
    (migration directory_0008)."""

    __tablename__ = "directory_audits"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    activity_display_name: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(64))
    operation_type: Mapped[str] = mapped_column(String(16))
    correlation_id: Mapped[uuid.UUID | None]
    initiated_by: Mapped[dict[str, Any]] = mapped_column(JSONB)
    target_resources: Mapped[list[Any]] = mapped_column(JSONB)
    __table_args__ = (
        _tenant_parent(),
        Index("ix_directory_audits_activity_at", "tenant_id", "activity_at", "id"),
    )


class KeyCredentialRow(Base):
    """An application's certificate (Graph's keyCredential, AsymmetricX509Cert for Verify): the
    DER whole, its SHA-1 thumbprint and validity read from it (migration directory_0010)."""

    __tablename__ = "key_credentials"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID]
    display_name: Mapped[str] = mapped_column(String(256))
    thumbprint: Mapped[bytes] = mapped_column(LargeBinary(20))
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        _tenant_fk("applications", "application_id"),
        Index("uq_key_credentials_thumbprint", "tenant_id", "application_id", "thumbprint", unique=True),
    )


class ClientAssertionRow(Base):
    """A client assertion's `jti` already used (SHA-256 with its client id), kept until it expires:
    a replay is refused on every front end (migration directory_0010)."""

    __tablename__ = "client_assertions"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    jti_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (_tenant_parent(), Index("ix_client_assertions_expires", "tenant_id", "expires_at"))


class DeletedItemRow(Base):
    """A soft-deleted user, Microsoft 365 group, application or service principal: its row and the
    rows hanging off it, as JSON, until restored or purged (migration directory_0011)."""

    __tablename__ = "deleted_items"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(256))
    deleted_at: Mapped[datetime] = _now()
    object: Mapped[dict[str, Any]] = mapped_column(JSONB)
    related: Mapped[dict[str, Any]] = mapped_column(JSONB)
    __table_args__ = (
        _tenant_parent(),
        CheckConstraint("kind IN ('users', 'groups', 'applications', 'service_principals')", name="kind"),
        Index("ix_deleted_items_kind", "tenant_id", "kind", "id"),
        Index("ix_deleted_items_deleted_at", "tenant_id", "deleted_at"),
    )
