"""Microsoft Graph as a resource: its well-known appId and the application permissions
(app roles) it offers, with Microsoft's own ids, so code written against Entra assigns
the same ids here.

The Graph service principal is virtual: every tenant has one, it never changes, and a
row per tenant would only copy this table into every tenant (and need a back-fill for
the tenants that exist). Its object id is derived from the tenant id, so each tenant
sees its own, as in Entra.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

GRAPH_APP_ID = uuid.UUID("00000003-0000-0000-c000-000000000000")
GRAPH_DISPLAY_NAME = "Microsoft Graph"


@dataclass(frozen=True)
class AppRole:
    id: uuid.UUID
    value: str
    display_name: str


GRAPH_APP_ROLES = tuple(
    AppRole(uuid.UUID(i), value, name)
    for i, value, name in [
        ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles"),
        (
            "741f803b-c850-494e-b5df-cde7c675a1ca",
            "User.ReadWrite.All",
            "Read and write all users' full profiles",
        ),
        ("5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups"),
        ("62a82d76-70ea-41e2-9197-370581804d09", "Group.ReadWrite.All", "Read and write all groups"),
        ("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All", "Read all applications"),
        (
            "1bfefb4e-e0b5-418b-a88f-73c6d2cf0c3a",
            "Application.ReadWrite.All",
            "Read and write all applications",
        ),
        (
            "06b708a9-e830-4db3-a914-8e69da51d44f",
            "AppRoleAssignment.ReadWrite.All",
            "Manage app permission grants and app role assignments",
        ),
        ("7438b122-aefc-4978-80ed-43db9fcc7715", "Device.Read.All", "Read all devices"),
        ("1138cb37-bd11-4084-a2b7-9f71582aeddb", "Device.ReadWrite.All", "Read and write devices"),
        ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data"),
        ("19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Directory.ReadWrite.All", "Read and write directory data"),
        ("b0afded3-3588-46d8-8b3d-9842eff778da", "AuditLog.Read.All", "Read all audit log data"),
        (
            "77f3a031-c388-4f99-b373-dc68676a979e",
            "User.RevokeSessions.All",
            "Revoke all sign in sessions for a user",
        ),
    ]
)
BY_ID = {role.id: role for role in GRAPH_APP_ROLES}
BY_VALUE = {role.value: role for role in GRAPH_APP_ROLES}


def graph_principal_id(tenant_id: uuid.UUID) -> uuid.UUID:
    """The object id of the Microsoft Graph service principal in `tenant_id`."""
    return uuid.uuid5(GRAPH_APP_ID, str(tenant_id))


def role_values(role_ids: list[uuid.UUID] | tuple[uuid.UUID, ...]) -> tuple[str, ...]:
    """What a token's `roles` claim says for these assigned role ids (sorted, each once)."""
    return tuple(sorted({BY_ID[i].value for i in role_ids if i in BY_ID}))
