"""Delta queries (`GET /v1.0/users/delta`, `/groups/delta`), as Graph pages them.

A round without a token returns every object; its pages link on with `@odata.nextLink`
and its last page gives `@odata.deltaLink`, whose token asks the next round for what
changed since (corestore.directory.changes says why nothing is missed). Removed objects
come as `{"id", "@removed": {"reason": ...}}`, Graph's "changed" for an object in deleted
items (it may be restored) and "deleted" for one gone for good.
Tokens are opaque to clients: a page's position, the round's snapshot and the tenant's
placement epoch, base64. Transaction ids belong to one scale unit, so a token issued
before the tenant moved (another epoch) cannot be honoured: it gets Graph's answer to
an expired token, 400 `syncStateNotFound`, and the client starts a full round again.
"""

from __future__ import annotations

import base64
import struct
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from auth_service.errors import BadRequest, SyncStateNotFound
from auth_service.graph.odata import VERSION, context, to_graph
from auth_service.graph.responses import base_url
from auth_service.http.deps import caller
from auth_service.http.lean import LeanRoute, QueryParam, documented, json_response
from auth_service.oauth.permissions import READ
from corestore.directory.base import Repository
from corestore.directory.changes import DeltaPage, delta_page
from corestore.session import TenantSession

router = APIRouter(prefix=VERSION)
SELECT = QueryParam("$select", max_length=1024)
SKIP = QueryParam("$skiptoken", max_length=64)
DELTA = QueryParam("$deltatoken", max_length=64)
KNOWN = frozenset(q.name for q in (SELECT, SKIP, DELTA))
PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
NO_SINCE = -1  # a first round's pages: every object
# $skiptoken: the page's last id, the round's `since`, the token the round ends with, the epoch.
SKIP_FORMAT = struct.Struct(">16sqqi")
DELTA_FORMAT = struct.Struct(">qi")


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str, shape: struct.Struct, name: str) -> tuple[Any, ...]:
    try:
        return shape.unpack(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, struct.error):
        raise BadRequest(f"{name} is not one this API returned") from None


def _page_size(request: Request) -> int:
    """Graph's `Prefer: odata.maxpagesize=N`; 100 without it."""
    for preference in request.headers.get("prefer", "").split(","):
        name, _, value = preference.strip().partition("=")
        if name == "odata.maxpagesize":
            if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
                raise BadRequest(f"odata.maxpagesize must be from 1 to {MAX_PAGE_SIZE}")
            return int(value)
    return PAGE_SIZE


def _position(request: Request) -> tuple[int | None, uuid.UUID | None, int | None, int | None]:
    """(since, after, the round's closing token, its epoch) from the query: a fresh round has none."""
    unknown = sorted(k for k in request.query_params if k not in KNOWN)
    if unknown:
        raise BadRequest(f"delta does not support {', '.join(unknown)}")
    skip, delta = SKIP.read(request), DELTA.read(request)
    if skip is not None and delta is not None:
        raise BadRequest("give $skiptoken or $deltatoken, not both")
    if skip is not None:
        after, since, closing, epoch = _decode(skip, SKIP_FORMAT, "$skiptoken")
        return (None if since == NO_SINCE else since), uuid.UUID(bytes=after), closing, epoch
    if delta is not None:
        since, epoch = _decode(delta, DELTA_FORMAT, "$deltatoken")
        return since, None, None, epoch
    return None, None, None, None


def _link(request: Request, name: str, token: str) -> str:
    url = request.url.remove_query_params(["$skiptoken", "$deltatoken"]).include_query_params(**{name: token})
    return str(url)


def _payload(
    request: Request, kind: str, page: DeltaPage[Any], since: int | None, closing: int, epoch: int
) -> dict[str, Any]:
    select = SELECT.read(request)
    chosen = None if select is None else tuple(s.strip() for s in select.split(",") if s.strip())
    value = [
        to_graph(c.record, chosen)
        if c.record is not None
        else {"id": str(c.id), "@removed": {"reason": "changed" if c.in_bin else "deleted"}}
        for c in page.changes
    ]
    payload: dict[str, Any] = {"@odata.context": context(base_url(request), kind, None), "value": value}
    if page.next_after is not None:
        skip = SKIP_FORMAT.pack(page.next_after.bytes, NO_SINCE if since is None else since, closing, epoch)
        payload["@odata.nextLink"] = _link(request, "$skiptoken", _encode(skip))
    else:
        payload["@odata.deltaLink"] = _link(
            request, "$deltatoken", _encode(DELTA_FORMAT.pack(closing, epoch))
        )
    return payload


def register(kind: str, repository: Callable[[TenantSession], Repository[Any]]) -> None:
    async def delta(request: Request) -> Response:
        who = await caller(request, READ, kind)
        since, after, closing, epoch = _position(request)
        page = await delta_page(repository(who.session), since, after, _page_size(request))
        if epoch is not None and epoch != page.epoch:  # the database's, not a cache's
            raise SyncStateNotFound(
                "The sync state generation is not found. The delta token is expired and data must be "
                "synchronized again (the tenant moved to another scale unit)."
            )
        return json_response(
            _payload(request, kind, page, since, page.snapshot if closing is None else closing, page.epoch),
            200,
            who.headers(),
        )

    # msgraph-sdk calls `delta()`, Graph's function syntax; both forms answer.
    for path in (f"/{kind}/delta", f"/{kind}/delta()"):
        router.add_api_route(
            path,
            delta,
            methods=["GET"],
            name=f"{kind}_delta{'_call' if path.endswith(')') else ''}",
            route_class_override=LeanRoute,
            openapi_extra=documented((), (SELECT, SKIP, DELTA)),
        )


register("users", lambda s: s.users)
register("groups", lambda s: s.groups)
