"""A front end processes only the tenants of its own geo: others are sent where they belong.

The seeds put the authentication service "in geo location": a password, a token or
a request of a tenant of another geo is never handled here. For the OAuth and OIDC
paths (`/{tenant}/oauth2/...`, `/{tenant}/v2.0/...`, `/{tenant}/discovery/...`) the
tenant in the path decides, before anything else runs: the answer is a 307 (method
and body kept) to the nearest registered front end of the tenant's geo, or 421 if
none is registered. Graph calls carry the tenant in their token; `deps` answers
those with 421 (`ServedElsewhere`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import URL
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Scope

from auth_service.errors import BadRequest, ServedElsewhere
from corestore.types import Placement
from scale_units.errors import UnknownCountry
from scale_units.model.countries import CountryTable
from scale_units.model.geography import Cloud, Geo

TENANT_PATHS = ("oauth2", "v2.0", "discovery")
# Where a tenant named in a path lives (None: unknown here, the route says so).
Locate = Callable[[str], Awaitable[Placement | None]]
# The front end that serves a geo's tenants: None for this one, else its base URL ("" if none is known).
Elsewhere = Callable[[Geo], str | None]


# The base URL of the nearest registered front end serving a geo's tenants, if any is known.
Nearest = Callable[[Geo], str | None]


class Confinement:
    """This instance's geo, and where the tenants of the others are served."""

    def __init__(self, cloud: Cloud, geo: Geo, countries: CountryTable, nearest: Nearest) -> None:
        self.cloud = cloud
        self.geo = geo
        self.countries = countries
        self.nearest = nearest

    def elsewhere(self, geo: Geo) -> str | None:
        """None if this instance serves tenants of `geo` (its own); else the URL of the nearest
        front end of this cloud that does, or "" when none is registered."""
        if geo is self.geo:
            return None
        return self.nearest(geo) or ""

    def confine(self, geo: Geo) -> None:
        """Refuse (421) a tenant of another geo, before anything of it is processed."""
        target = self.elsewhere(geo)
        if target is not None:
            where = f"; send it to {target}" if target else ""
            raise ServedElsewhere(f"this front end serves {self.geo.value} tenants, not {geo.value}{where}")

    def geo_for(self, country: str) -> Geo:
        """The geo a new tenant of `country` is placed in, in this cloud."""
        try:
            return self.countries.geo_for(self.cloud, country)
        except UnknownCountry as exc:
            raise BadRequest(str(exc)) from None


async def misplaced(tenant: str, scope: Scope, locate: Locate, elsewhere: Elsewhere) -> Response | None:
    """The answer for a path naming `tenant` (`path_tenant`) when it is another geo's: 307 to
    where it is served, or 421 if no front end is known there; None when it is this instance's."""
    placement = await locate(tenant)
    target = None if placement is None else elsewhere(placement.geo)
    if target is None:
        return None
    if not target:
        assert placement is not None
        message = f"no front end that serves {placement.geo.value} tenants is known to this one"
        return JSONResponse({"error": "invalid_request", "error_description": message}, status_code=421)
    url = URL(scope=scope)
    location = target.rstrip("/") + url.path + (f"?{url.query}" if url.query else "")
    return RedirectResponse(location, status_code=307)


def path_tenant(scope: Scope) -> str | None:
    """`contoso.example` in `/contoso.example/oauth2/v2.0/token`, for the tenant-named paths only."""
    parts = scope["path"].split("/", 3)
    if len(parts) < 3 or parts[2] not in TENANT_PATHS or not parts[1]:
        return None
    return str(parts[1])
