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
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from corestore.types import Placement
from scale_units.model.geography import Geo

TENANT_PATHS = ("oauth2", "v2.0", "discovery")
# Where a tenant named in a path lives (None: unknown here, the route says so).
Locate = Callable[[str], Awaitable[Placement | None]]
# The front end that serves a geo's tenants: None for this one, else its base URL ("" if none is known).
Elsewhere = Callable[[Geo], str | None]


class GeoFence:
    def __init__(self, app: ASGIApp, locate: Locate, elsewhere: Elsewhere) -> None:
        self.app = app
        self.locate = locate
        self.elsewhere = elsewhere

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tenant = _path_tenant(scope)
        placement = None if tenant is None else await self.locate(tenant)
        target = None if placement is None else self.elsewhere(placement.geo)
        if target is None:
            await self.app(scope, receive, send)
            return
        if not target:
            assert placement is not None
            message = f"no front end that serves {placement.geo.value} tenants is known to this one"
            body = {"error": "invalid_request", "error_description": message}
            await JSONResponse(body, status_code=421)(scope, receive, send)
            return
        url = URL(scope=scope)
        location = target.rstrip("/") + url.path + (f"?{url.query}" if url.query else "")
        await RedirectResponse(location, status_code=307)(scope, receive, send)


def _path_tenant(scope: Scope) -> str | None:
    """`contoso.example` in `/contoso.example/oauth2/v2.0/token`, for the tenant-named paths only."""
    if scope["type"] != "http":
        return None
    parts = scope["path"].split("/", 3)
    if len(parts) < 3 or parts[2] not in TENANT_PATHS or not parts[1]:
        return None
    return str(parts[1])
