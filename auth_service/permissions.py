"""Permission names (Graph's), what tokens carry, and which permission implies which."""

from __future__ import annotations

USER_READ = "User.Read"
READ = "Directory.Read.All"
WRITE = "Directory.ReadWrite.All"
AUDIT = "AuditLog.Read.All"

USER_SCOPES = (USER_READ, READ)
ADMIN_SCOPES = (*USER_SCOPES, WRITE, AUDIT)
APP_ROLES = (WRITE, AUDIT)
# A permission is granted by itself or by the wider one that contains it.
IMPLIED = {READ: {READ, WRITE}, WRITE: {WRITE}}


def permitted(granted: set[str], permission: str) -> bool:
    return bool(granted & IMPLIED.get(permission, {permission}))
