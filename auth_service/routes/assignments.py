"""App role assignments over Graph: an administrator grants an application Graph's app roles.

Graph's two forms: from the resource (`/servicePrincipals/{graph}/appRoleAssignedTo`)
and from the client (`/servicePrincipals/{app}/appRoleAssignments`); both take the
same body. The Microsoft Graph service principal itself is reached by its alternate
key, `/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')`, as Graph's
documentation does; it lists the app roles with Microsoft's ids.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from auth_service.errors import BadRequest
from auth_service.graph.odata import VERSION, context, to_graph
from auth_service.graph.responses import base_url
from auth_service.graph.shapes import SERVICE_PRINCIPAL
from auth_service.http.deps import Caller, CallerFor
from auth_service.http.gate_first import GateFirst
from auth_service.http.lean import json_response
from auth_service.oauth.permissions import ASSIGNMENTS as RESOURCE
from auth_service.oauth.permissions import READ, WRITE
from corestore.directory.app_roles import GRAPH_APP_ID, GRAPH_APP_ROLES, GRAPH_DISPLAY_NAME
from corestore.directory.assignments import AppRoleAssignment
from corestore.errors import NotFound

router = APIRouter(prefix=VERSION, route_class=GateFirst)
PrincipalReader = Annotated[Caller, Depends(CallerFor(READ, SERVICE_PRINCIPAL.collection))]
ReadCaller = Annotated[Caller, Depends(CallerFor(READ, RESOURCE))]
WriteCaller = Annotated[Caller, Depends(CallerFor(WRITE, RESOURCE))]
ASSIGNED_TO = "/servicePrincipals/{resource_id}/appRoleAssignedTo"
ASSIGNMENTS = "/servicePrincipals/{principal_id}/appRoleAssignments"


class AssignmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    principal_id: uuid.UUID = Field(alias="principalId")
    resource_id: uuid.UUID = Field(alias="resourceId")
    app_role_id: uuid.UUID = Field(alias="appRoleId")
    odata_type: str | None = Field(default=None, alias="@odata.type", max_length=64)


def _assignment(a: AppRoleAssignment) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.appRoleAssignment",
        "id": str(a.id),
        "deletedDateTime": None,
        "appRoleId": str(a.app_role_id),
        "createdDateTime": a.created_at.isoformat().replace("+00:00", "Z"),
        "principalDisplayName": a.principal_display_name,
        "principalId": str(a.principal_id),
        "principalType": "ServicePrincipal",
        "resourceDisplayName": a.resource_display_name,
        "resourceId": str(a.resource_id),
    }


def _graph_principal(who: Caller) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": str(who.session.app_role_assignments.graph_id),
        "appId": str(GRAPH_APP_ID),
        "displayName": GRAPH_DISPLAY_NAME,
        "accountEnabled": True,
        "servicePrincipalType": "Application",
        "appRoles": [
            {
                "id": str(role.id),
                "value": role.value,
                "displayName": role.display_name,
                "description": role.display_name,
                "allowedMemberTypes": ["Application"],
                "isEnabled": True,
                "origin": "Application",
            }
            for role in GRAPH_APP_ROLES
        ],
    }


@router.get("/servicePrincipals(appId='{app_id}')", name="service_principal_by_app_id")
async def by_app_id(request: Request, app_id: uuid.UUID, who: PrincipalReader) -> Response:
    """A service principal by its application's id; Microsoft Graph's is always there."""
    if app_id == GRAPH_APP_ID:
        payload = _graph_principal(who)
    else:
        found = await who.session.service_principals.by_app_id(app_id)
        if found is None:
            raise NotFound(f"no service principal with appId {app_id}")
        payload = to_graph(found)
    return json_response(
        {"@odata.context": context(base_url(request), "servicePrincipals", None, True), **payload},
        200,
        who.headers(),
    )


async def _assign(request: Request, who: Caller, body: AssignmentBody) -> Response:
    found = await who.session.app_role_assignments.assign(
        body.principal_id, body.resource_id, body.app_role_id
    )
    payload = {
        "@odata.context": context(base_url(request), "appRoleAssignments", None, True),
        **_assignment(found),
    }
    return json_response(payload, 201, who.headers())


def _listed(request: Request, who: Caller, found: list[AppRoleAssignment]) -> Response:
    payload = {
        "@odata.context": context(base_url(request), "appRoleAssignments", None),
        "value": [_assignment(a) for a in found],
    }
    return json_response(payload, 200, who.headers())


@router.post(ASSIGNED_TO, status_code=201, name="assign_app_role_to")
async def assign_to(
    request: Request, resource_id: uuid.UUID, body: AssignmentBody, who: WriteCaller
) -> Response:
    if body.resource_id != resource_id:
        raise BadRequest("resourceId must be the service principal in the path")
    return await _assign(request, who, body)


@router.post(ASSIGNMENTS, status_code=201, name="assign_app_role")
async def assign(
    request: Request, principal_id: uuid.UUID, body: AssignmentBody, who: WriteCaller
) -> Response:
    if body.principal_id != principal_id:
        raise BadRequest("principalId must be the service principal in the path")
    return await _assign(request, who, body)


@router.get(ASSIGNED_TO, name="list_app_roles_assigned_to")
async def assigned_to(request: Request, resource_id: uuid.UUID, who: ReadCaller) -> Response:
    return _listed(request, who, await who.session.app_role_assignments.to_resource(resource_id))


@router.get(ASSIGNMENTS, name="list_app_role_assignments")
async def assignments(request: Request, principal_id: uuid.UUID, who: ReadCaller) -> Response:
    return _listed(request, who, await who.session.app_role_assignments.of_principal(principal_id))


@router.delete(ASSIGNED_TO + "/{assignment_id}", status_code=204, name="remove_app_role_assigned_to")
async def remove_assigned_to(resource_id: uuid.UUID, assignment_id: uuid.UUID, who: WriteCaller) -> Response:
    assignments = who.session.app_role_assignments
    await assignments.remove(assignment_id, resource=assignments.resource(resource_id))
    return Response(status_code=204, headers=who.headers())


@router.delete(ASSIGNMENTS + "/{assignment_id}", status_code=204, name="remove_app_role_assignment")
async def remove_assignment(principal_id: uuid.UUID, assignment_id: uuid.UUID, who: WriteCaller) -> Response:
    await who.session.app_role_assignments.remove(assignment_id, principal=principal_id)
    return Response(status_code=204, headers=who.headers())
