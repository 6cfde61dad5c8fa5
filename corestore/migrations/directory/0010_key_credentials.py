"""Certificate credentials, and the memory of client assertions already used.

`key_credentials`: an application's certificates (Graph's keyCredentials), the DER whole
with its SHA-1 thumbprint and validity; the directory_0008 trigger audits them under the
secrets' activity, hiding the certificate and its thumbprint. The application read
functions carry them beside the redirect URIs (`extra.keyCredentials`), still one statement.
`client_certificates` is the certificate grant's read: the application's certificates, its
principal and its app roles in one call (a row with no certificate when it has none).

`client_assertions`: each RFC 7523 assertion's `jti` (hashed with its client id) until the
assertion expires, on the tenant's primary, so every front end refuses a replay. The
front end bounds an assertion's life, and each new row removes at most `BATCH` of its
tenant's expired ones: the table holds at most the last few minutes of assertions.

The functions of directory_0004 and directory_0008 are not copied: this revision loads
them from their migrations and states only what it changes (and, as directory_0006 did,
puts the tenant's fence in the application reads).

Revision ID: directory_0010
"""

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "directory_0010"
down_revision = "directory_0009"
branch_labels = None
depends_on = None

SCHEMA = "corestore"
APP_ROLE = "corestore_app"
CURRENT_TENANT = "(SELECT NULLIF(current_setting('corestore.tenant_id', true), '')::uuid)"
TABLES = ("key_credentials", "client_assertions")
BATCH = 100


def _revision(filename: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"corestore_{filename[:-3]}", Path(__file__).with_name(filename)
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _replaced(text: str, old: str, new: str) -> str:
    assert old in text, f"directory_0010 expects {old!r} in an earlier revision"
    return text.replace(old, new)


GRAPH = _revision("0004_graph.py")
MOVES = _revision("0006_moves.py")
AUDIT = _revision("0008_audit.py")

KEYS = """(SELECT pg_catalog.jsonb_build_object('keyCredentials', pg_catalog.jsonb_agg(
    pg_catalog.jsonb_build_object('keyId', k.id, 'displayName', k.display_name,
      'thumbprint', pg_catalog.encode(k.thumbprint, 'hex'), 'startDateTime', k.start_at,
      'endDateTime', k.end_at) ORDER BY k.created_at, k.id))
    FROM public.key_credentials k WHERE k.tenant_id = {t}.tenant_id AND k.application_id = {t}.id
    HAVING pg_catalog.count(*) > 0)"""
WITH_KEYS = f"(coalesce({GRAPH.REDIRECT_URIS}, '{{{{}}}}'::jsonb) || coalesce({KEYS}, '{{{{}}}}'::jsonb))"

CERTIFICATES = f"""CREATE FUNCTION {SCHEMA}.client_certificates(p_tenant uuid, p_app_id uuid)
RETURNS TABLE(certificate bytea, principal public.service_principals, app_role_ids uuid[])
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
BEGIN
PERFORM {SCHEMA}.enter_tenant(p_tenant, false);
RETURN QUERY SELECT k.certificate, p, ARRAY(SELECT r.app_role_id FROM public.app_role_assignments r
    WHERE r.tenant_id = p.tenant_id AND r.principal_id = p.id)
  FROM public.applications a
  JOIN public.service_principals p ON p.tenant_id = a.tenant_id AND p.app_id = a.app_id
  LEFT JOIN public.key_credentials k ON k.tenant_id = a.tenant_id AND k.application_id = a.id
  WHERE a.tenant_id = p_tenant AND a.app_id = p_app_id;
END
$fn$"""


ORIGINAL_EXTRA = GRAPH.REDIRECT_URIS


def _application_functions(extra: str) -> list[str]:
    """directory_0004's application reads, with `extra` in place of its redirect URIs alone."""
    setattr(GRAPH, "REDIRECT_URIS", extra)  # noqa: B010 - a module of our own loading, put back below
    try:
        query = GRAPH._query_function("applications")
    finally:
        setattr(GRAPH, "REDIRECT_URIS", ORIGINAL_EXTRA)  # noqa: B010
    by_id = _replaced(
        GRAPH.APPLICATION, ORIGINAL_EXTRA.format(t="applications"), extra.format(t="applications")
    )
    # Behind directory_0006's fence, as directory_0006 left every function that sets the tenant.
    fenced = [_replaced(t, MOVES.PLAIN, MOVES.GUARDED) for t in (query, by_id)]
    return [_replaced(t, "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION") for t in fenced]


def _audit_change(with_keys: bool) -> str:
    text = _replaced(AUDIT.AUDIT_CHANGE, "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    if with_keys:
        text = _replaced(text, "WHEN 'client_secrets' THEN", "WHEN 'client_secrets', 'key_credentials' THEN")
        text = _replaced(text, AUDIT.HIDDEN, f"{AUDIT.HIDDEN}, 'certificate', 'thumbprint'")
    return text


def _secure(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, DELETE ON {table} TO {APP_ROLE}")


def upgrade() -> None:
    op.create_table(
        "key_credentials",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("thumbprint", sa.LargeBinary(length=20), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "application_id"],
            ["applications.tenant_id", "applications.id"],
            name=op.f("fk_key_credentials_tenant_id_application_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_key_credentials")),
    )
    op.create_index(
        "uq_key_credentials_thumbprint",
        "key_credentials",
        ["tenant_id", "application_id", "thumbprint"],
        unique=True,
    )
    op.create_table(
        "client_assertions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("jti_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_client_assertions_tenant_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "jti_hash", name=op.f("pk_client_assertions")),
    )
    op.create_index("ix_client_assertions_expires", "client_assertions", ["tenant_id", "expires_at"])
    for table in TABLES:
        _secure(table)
    op.execute(_audit_change(with_keys=True))
    op.execute(
        "CREATE TRIGGER audit_change AFTER INSERT OR UPDATE OR DELETE ON key_credentials "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.audit_change()"
    )
    for statement in _application_functions(WITH_KEYS):
        op.execute(statement)
    op.execute(CERTIFICATES)
    op.execute(f"REVOKE ALL ON FUNCTION {SCHEMA}.client_certificates(uuid, uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SCHEMA}.client_certificates(uuid, uuid) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SCHEMA}.client_certificates(uuid, uuid)")
    for statement in _application_functions(ORIGINAL_EXTRA):
        op.execute(statement)
    op.execute("DROP TRIGGER audit_change ON key_credentials")
    op.execute(_audit_change(with_keys=False))
    for table in TABLES:
        op.drop_table(table)
