"""The operator API: tenant creation and the first administrator, behind the operator credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from auth_service.http.deps import operator
from auth_service.http.gate_first import GateFirst
from auth_service.services import Services
from corestore.directory.users import Users
from corestore.validation import DISPLAY_NAME

router = APIRouter(prefix="/operator", route_class=GateFirst)


class Administrator(BaseModel):
    """Its limits are the store's (`Users.rules`); a password of at least 8 characters is ours."""

    userPrincipalName: str = Field(max_length=Users.rules["user_principal_name"].max_length)
    displayName: str = Field(max_length=DISPLAY_NAME.max_length)
    password: str = Field(min_length=8, max_length=Users.rules["password"].max_length)


class NewTenant(BaseModel):
    displayName: str = Field(max_length=DISPLAY_NAME.max_length)
    country: str = Field(min_length=2, max_length=2)
    domains: list[str] = Field(default_factory=list, max_length=20)
    administrator: Administrator


@router.post(
    "/tenants",
    status_code=201,
    responses={
        307: {"description": "another geo's front end"},
        421: {"description": "another geo, and no front end of it is known here"},
    },
)
async def create_tenant(body: NewTenant, parts: Annotated[Services, Depends(operator)]) -> Response:
    """A tenant in this front end's cloud, placed by its country, with its first administrator.

    A tenant of another geo is created by a front end of that geo (307 there, body kept):
    its administrator's password is never hashed here.
    """
    fence = parts.confinement
    geo = fence.geo_for(body.country)
    target = fence.elsewhere(geo)
    if target:
        return RedirectResponse(f"{target}/operator/tenants", status_code=307)
    fence.confine(geo)  # another geo, and no front end of it known: 421
    ops, cloud = parts.operator, fence.cloud
    tenant = await ops.create_tenant(body.displayName, body.country, cloud, tuple(body.domains))
    admin = body.administrator
    try:
        user = await ops.create_administrator(
            tenant.id, admin.userPrincipalName, admin.displayName, admin.password, cloud
        )
    except BaseException:
        await ops.delete_tenant(tenant.id, cloud)
        raise
    placement = tenant.placement
    return JSONResponse(
        {
            "id": str(tenant.id),
            "displayName": tenant.display_name,
            "countryLetterCode": tenant.country,
            "cloud": placement.cloud.value,
            "geo": placement.geo.value,
            "scaleUnit": placement.scale_unit,
            "verifiedDomains": list(tenant.domains),
            "administrator": {"id": str(user.id), "userPrincipalName": user.user_principal_name},
        },
        status_code=201,
    )
