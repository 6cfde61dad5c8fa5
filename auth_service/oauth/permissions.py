"""Permission names (Graph's), what tokens carry, and which permission implies which.

A route asks for a broad permission (read, write, audit) on the resource it declares
(its collection: `users`, `groups`, ...); Graph's finer permissions (User.Read.All,
Group.ReadWrite.All, ...) grant it on their own resource only, as in Graph, where
`Directory.*` covers every kind.
"""

from __future__ import annotations

from functools import cache

USER_READ = "User.Read"
READ = "Directory.Read.All"
WRITE = "Directory.ReadWrite.All"
AUDIT = "AuditLog.Read.All"

USER_SCOPES = (USER_READ, READ)
ADMIN_SCOPES = (*USER_SCOPES, WRITE, AUDIT)
# A permission is granted by itself or by the wider one that contains it.
IMPLIED = {READ: {READ, WRITE}, WRITE: {WRITE}}
_READ_WRITE = {
    "users": ("User.Read.All", "User.ReadWrite.All"),
    "groups": ("Group.Read.All", "Group.ReadWrite.All"),
    "applications": ("Application.Read.All", "Application.ReadWrite.All"),
    "servicePrincipals": ("Application.Read.All", "Application.ReadWrite.All"),
    "devices": ("Device.Read.All", "Device.ReadWrite.All"),
}
# (permission a route asks for, resource) -> the finer permissions that also grant it.
FINER: dict[tuple[str, str], set[str]] = {
    **{(READ, kind): {read, write} for kind, (read, write) in _READ_WRITE.items()},
    **{(WRITE, kind): {write} for kind, (_, write) in _READ_WRITE.items()},
}
# App role assignments (a service principal's appRoleAssignments / appRoleAssignedTo) are a
# resource of their own: AppRoleAssignment.ReadWrite.All writes those, not the principals.
ASSIGNMENTS = "appRoleAssignments"
AUDIT_LOGS = "auditLogs"
# A user's revokeSignInSessions: Graph grants it with User.RevokeSessions.All, which writes nothing else.
SIGN_IN_SESSIONS = "signInSessions"
ORGANIZATION = "organization"
FINER[(READ, ASSIGNMENTS)] = {
    "Application.Read.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
}
FINER[(WRITE, ASSIGNMENTS)] = {"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"}
FINER[(WRITE, SIGN_IN_SESSIONS)] = {"User.ReadWrite.All", "User.RevokeSessions.All"}
# Deleted items of a kind (`deleted_items(kind)`): read as the kind is; restored or deleted for
# good with its write permission, and a user also with User.DeleteRestore.All, as in Graph.
# `deleted_items()` is any kind: what a route asks before it knows the item's kind.
DELETE_RESTORE = {"users": {"User.DeleteRestore.All"}}


def deleted_items(kind: str = "") -> str:
    return f"deletedItems/{kind}"


for _kind in _READ_WRITE:
    FINER[(READ, deleted_items(_kind))] = FINER[(READ, _kind)]
    FINER[(WRITE, deleted_items(_kind))] = FINER[(WRITE, _kind)] | DELETE_RESTORE.get(_kind, set())
for _permission in (READ, WRITE):
    FINER[(_permission, deleted_items())] = set().union(
        *(FINER[(_permission, deleted_items(k))] for k in ("users", "groups", "applications"))
    )


def permitted(granted: set[str], permission: str, resource: str) -> bool:
    """Whether `granted` holds `permission` on `resource`, the one its route declares."""
    return not granted.isdisjoint(granting(permission, resource))


@cache  # every request asks: the union is made once per route's question
def granting(permission: str, resource: str) -> frozenset[str]:
    """Every permission that grants `permission` on `resource`."""
    return frozenset(IMPLIED.get(permission, {permission}) | FINER.get((permission, resource), set()))
