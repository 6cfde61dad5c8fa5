"""App role assignments: the application permissions an administrator granted a service principal.

An application's client-credentials tokens carry exactly the roles assigned to its
service principal (see `Applications.verify_client_secret`); none assigned, no roles.
The only resource is Microsoft Graph (`app_roles`), so a role id is checked against
Graph's list before anything is written, and the insert names the principal in this
tenant or writes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from corestore.directory.app_roles import BY_ID, GRAPH_DISPLAY_NAME, graph_principal_id
from corestore.directory.groups import NO_DATA_FOUND
from corestore.errors import InvalidRequest, NotFound
from corestore.handle import TenantHandle
from corestore.read_functions import call
from corestore.validation import parse_id

# The principal must be a service principal of this tenant: otherwise nothing is inserted.
INSERT = """WITH p AS (SELECT tenant_id, id, display_name FROM service_principals
    WHERE tenant_id = $1 AND id = $2),
  added AS (INSERT INTO app_role_assignments (tenant_id, id, principal_id, resource_id, app_role_id)
    SELECT p.tenant_id, $3, p.id, $4, $5 FROM p RETURNING *)
SELECT added.*, p.display_name AS principal_display_name FROM added, p"""
DELETE = """DELETE FROM app_role_assignments WHERE tenant_id = $1 AND id = $2
AND ($3::uuid IS NULL OR principal_id = $3) AND ($4::uuid IS NULL OR resource_id = $4)"""


@dataclass(frozen=True)
class AppRoleAssignment:
    id: uuid.UUID
    app_role_id: uuid.UUID
    principal_id: uuid.UUID
    principal_display_name: str
    resource_id: uuid.UUID
    resource_display_name: str
    created_at: datetime


class AppRoleAssignments:
    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    @property
    def graph_id(self) -> uuid.UUID:
        return graph_principal_id(self.handle.tenant_id)

    def resource(self, resource_id: str | uuid.UUID) -> uuid.UUID:
        """The resource's service principal id, if it is one that offers app roles (Graph's)."""
        rid = parse_id(resource_id)
        if rid != self.graph_id:
            raise NotFound(f"no resource service principal {rid} (only Microsoft Graph offers app roles)")
        return rid

    async def assign(
        self, principal_id: str | uuid.UUID, resource_id: str | uuid.UUID, app_role_id: str | uuid.UUID
    ) -> AppRoleAssignment:
        """Grant one of the resource's app roles; 409 (Conflict) if it is already granted."""
        pid, rid = parse_id(principal_id), self.resource(resource_id)
        try:
            role = BY_ID[uuid.UUID(str(app_role_id))]
        except (KeyError, ValueError):
            raise InvalidRequest(
                f"appRoleId {app_role_id} is not an app role of {GRAPH_DISPLAY_NAME}"
            ) from None
        async with self.handle.write() as conn:
            row = await conn.fetchrow(INSERT, self.handle.tenant_id, pid, uuid.uuid4(), rid, role.id)
            if row is None:
                raise NotFound(f"no service principal {pid}")
        return self._record(row)

    async def of_principal(self, principal_id: str | uuid.UUID) -> list[AppRoleAssignment]:
        """What a service principal was granted (`/servicePrincipals/{id}/appRoleAssignments`)."""
        return await self._rows(principal=parse_id(principal_id))

    async def to_resource(self, resource_id: str | uuid.UUID) -> list[AppRoleAssignment]:
        """What was granted on a resource (`/servicePrincipals/{id}/appRoleAssignedTo`)."""
        return await self._rows(resource=self.resource(resource_id))

    async def remove(
        self,
        assignment_id: str | uuid.UUID,
        *,
        principal: uuid.UUID | None = None,
        resource: uuid.UUID | None = None,
    ) -> None:
        aid = parse_id(assignment_id)
        async with self.handle.write() as conn:
            status = await conn.execute(DELETE, self.handle.tenant_id, aid, principal, resource)
        if status == "DELETE 0":
            raise NotFound(f"no app role assignment {aid}")

    async def _rows(
        self, principal: uuid.UUID | None = None, resource: uuid.UUID | None = None
    ) -> list[AppRoleAssignment]:
        try:
            rows = await self.handle.fetch(
                call("app_role_assignments"), self.handle.tenant_id, principal, resource
            )
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == NO_DATA_FOUND:
                raise NotFound(f"no service principal {principal}") from None
            raise
        return [self._record(r) for r in rows]

    @staticmethod
    def _record(row: asyncpg.Record) -> AppRoleAssignment:
        return AppRoleAssignment(
            row["id"],
            row["app_role_id"],
            row["principal_id"],
            row["principal_display_name"],
            row["resource_id"],
            GRAPH_DISPLAY_NAME,
            row["created_at"],
        )
