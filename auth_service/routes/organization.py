"""Graph's /organization: the caller's tenant, the one object of that collection."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from auth_service.graph.odata import VERSION
from auth_service.graph.query import refuse_unknown, select_param, selection
from auth_service.graph.responses import entity, page_payload, respond
from auth_service.graph.shapes import ORGANIZATION
from auth_service.http.deps import Caller, caller, services
from auth_service.http.lean import read_route
from auth_service.oauth.permissions import ORGANIZATION as RESOURCE
from auth_service.oauth.permissions import READ
from corestore.errors import NotFound
from corestore.objects import Organization, Page

SELECT = select_param(ORGANIZATION)


async def _tenant(request: Request) -> tuple[Caller, Organization, tuple[str, ...] | None]:
    who = await caller(request, READ, RESOURCE)
    refuse_unknown(request, (SELECT,))
    select = selection(request, SELECT)
    catalog = services(request).tenants.catalog  # this cloud's: the token's
    found = await who.session.organization.get(await catalog.domains(who.token.tenant_id))
    return who, found, select


async def list_organization(request: Request) -> Response:
    who, found, select = await _tenant(request)
    return respond(who, page_payload(request, ORGANIZATION.collection, Page((found,), None), select))


async def get_organization(request: Request) -> Response:
    who, found, select = await _tenant(request)
    if request.path_params["organization_id"] != str(found.id):
        raise NotFound(f"no organization {request.path_params['organization_id']!r}")
    return respond(who, entity(request, found, select))


router = APIRouter(prefix=VERSION)
read_route("/organization", list_organization, "list_organization", SELECT, on=router)
read_route("/organization/{organization_id}", get_organization, "get_organization", SELECT, on=router)
