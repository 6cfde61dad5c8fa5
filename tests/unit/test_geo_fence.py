"""The geo fence for tenant-named paths, without servers: 307 to the tenant's geo, or 421."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from auth_service.errors import BadRequest
from auth_service.http.geo_fence import Confinement
from auth_service.http.guard import Guard
from corestore.types import Placement
from scale_units.model.countries import CountryTable
from scale_units.model.geography import Cloud, Geo

pytestmark = pytest.mark.unit
HOMES = {"contoso.example": Geo.EMEA, "fabrikam.example": Geo.NORTH_AMERICA, "tailspin.example": Geo.JAPAN}
COUNTRIES = CountryTable({Cloud.PUBLIC: {"FR": Geo.EMEA, "US": Geo.NORTH_AMERICA}}, {})


def _nearest(geo: Geo) -> str | None:
    return "https://na.example" if geo is Geo.NORTH_AMERICA else None


FENCE = Confinement(Cloud.PUBLIC, Geo.EMEA, COUNTRIES, _nearest)


async def _locate(tenant: str) -> Placement | None:
    geo = HOMES.get(tenant)
    return None if geo is None else Placement(Cloud.PUBLIC, geo, f"{geo.value}-1")


async def _served(request: Request) -> PlainTextResponse:
    return PlainTextResponse("served here")


def client() -> httpx.AsyncClient:
    """The fence in front of an app that answers everything: in process, over ASGI."""
    app = Starlette(routes=[Route("/{path:path}", _served, methods=["GET", "POST"])])
    fenced = Guard(app, _locate, FENCE.elsewhere)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fenced), base_url="http://fe.example")


async def test_own_geo_and_unknown_tenants_are_served_here() -> None:
    async with client() as http:
        assert (await http.get("/contoso.example/oauth2/v2.0/authorize")).text == "served here"
        found = await http.get("/unknown.example/v2.0/.well-known/openid-configuration")
        assert found.text == "served here"
        assert (await http.get("/v1.0/users")).text == "served here"  # Graph: the token decides, later


async def test_another_geos_tenant_is_redirected_with_method_path_and_query_kept() -> None:
    async with client() as http:
        answer = await http.post("/fabrikam.example/oauth2/v2.0/token?x=1", content=b"grant_type=password")
    assert answer.status_code == 307
    assert answer.headers["location"] == "https://na.example/fabrikam.example/oauth2/v2.0/token?x=1"


async def test_a_geo_with_no_known_front_end_is_a_421() -> None:
    async with client() as http:
        answer = await http.get("/tailspin.example/discovery/v2.0/keys")
    assert answer.status_code == 421
    assert "japan" in answer.json()["error_description"]


def test_a_new_tenants_country_picks_its_geo() -> None:
    assert FENCE.geo_for("us") is Geo.NORTH_AMERICA
    with pytest.raises(BadRequest):
        FENCE.geo_for("ZZ")
