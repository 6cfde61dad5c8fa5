"""Graph's deleted items (`/v1.0/directory/deletedItems`): users, Microsoft 365 groups,
applications and service principals deleted in the last 30 days, listed by type, read,
restored, or deleted for good.

Each needs the permission of its kind (a user's restore also takes User.DeleteRestore.All);
a request by id asks first for any kind's permission, then for the item's own. A deleted
user shows its principal name as Entra does, its id's hex before it: the name itself is free.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from auth_service.errors import BadRequest, Forbidden
from auth_service.graph.odata import VERSION, context, parse_skiptoken, skiptoken, to_graph
from auth_service.graph.query import (
    COUNT,
    COUNT_NEEDS_EVENTUAL,
    FILTER,
    SKIP,
    TOP,
    eventual,
    refuse_unknown,
    select_param,
    selection,
)
from auth_service.graph.responses import respond
from auth_service.graph.shapes import APPLICATION, GROUP, SERVICE_PRINCIPAL, USER, json_value
from auth_service.http.deps import Caller, caller
from auth_service.http.lean import read_route
from auth_service.oauth.permissions import READ, WRITE, deleted_items, permitted
from corestore.objects import DeletedItem, User

router = APIRouter(prefix=VERSION)
COLLECTION = "directory/deletedItems"
LIST = (FILTER, TOP, SKIP, COUNT)
# Graph's type cast in the path -> the store's kind
TYPES = {
    "microsoft.graph.user": "users",
    "microsoft.graph.group": "groups",
    "microsoft.graph.application": "applications",
    "microsoft.graph.servicePrincipal": "service_principals",
}
# the store's kind -> its shape, whose collection is the resource whose permissions it takes
SHAPES = {
    "users": USER,
    "groups": GROUP,
    "applications": APPLICATION,
    "service_principals": SERVICE_PRINCIPAL,
}
RESOURCES = {kind: shape.collection for kind, shape in SHAPES.items()}
DELETED = "deletedDateTime"
ANY_SELECT = select_param(*SHAPES.values(), extra=(DELETED,))


def to_graph_deleted(item: DeletedItem, select: tuple[str, ...] | None = None) -> dict[str, Any]:
    out = to_graph(item.record, select)
    if select is None or DELETED in select:
        out[DELETED] = json_value(item.deleted_at)
    if isinstance(item.record, User) and "userPrincipalName" in out:
        out["userPrincipalName"] = item.record.id.hex + item.record.user_principal_name
    return out


def _check_kind(who: Caller, permission: str, item: DeletedItem) -> None:
    if not permitted(who.token.granted, permission, deleted_items(RESOURCES[item.kind])):
        raise Forbidden(f"this operation needs {permission} on {RESOURCES[item.kind]}")


def register(cast: str, store_kind: str) -> None:
    select_option = select_param(SHAPES[store_kind], extra=(DELETED,))
    options = (*LIST, select_option)

    async def list_deleted(request: Request) -> Response:
        who = await caller(request, READ, deleted_items(RESOURCES[store_kind]))
        refuse_unknown(request, options)
        select = selection(request, select_option)
        count = COUNT.read(request) == "true"
        if count and not eventual(request):
            raise BadRequest(COUNT_NEEDS_EVENTUAL)
        token = SKIP.read(request)
        after = None if token is None else parse_skiptoken(token, "id")[1]
        page = await who.session.deleted_items.list(
            store_kind, FILTER.read(request), TOP.read(request), after, count=count
        )
        payload: dict[str, Any] = {
            "@odata.context": context(str(request.base_url), f"{COLLECTION}/{cast}", None)
        }
        if page.total is not None:
            payload["@odata.count"] = page.total
        payload["value"] = [to_graph_deleted(item, select) for item in page.items]
        if page.next_after is not None:
            url = request.url.remove_query_params("$skiptoken")
            payload["@odata.nextLink"] = str(
                url.include_query_params(**{"$skiptoken": skiptoken("id", None, page.next_after)})
            )
        return respond(who, payload)

    name = f"list_deleted_{store_kind}{'' if cast.startswith('microsoft.') else '_short'}"
    read_route(f"/{COLLECTION}/{cast}", list_deleted, name, *options, on=router)


for _cast, _kind in TYPES.items():
    register(_cast, _kind)
    register(_cast.removeprefix("microsoft."), _kind)  # Graph takes the cast without its namespace


async def get_deleted(request: Request) -> Response:
    who = await caller(request, READ, deleted_items())
    refuse_unknown(request, (ANY_SELECT,))
    select = selection(request, ANY_SELECT)
    item = await who.session.deleted_items.get(request.path_params["object_id"])
    _check_kind(who, READ, item)
    payload = {"@odata.context": context(str(request.base_url), COLLECTION, select, True)}
    return respond(who, {**payload, **to_graph_deleted(item, select)})


read_route(f"/{COLLECTION}/{{object_id}}", get_deleted, "get_deleted_item", ANY_SELECT, on=router)


@router.post(f"/{COLLECTION}/{{object_id}}/restore")
async def restore_deleted(object_id: str, request: Request) -> Response:
    """The object as it is again; Graph answers 200 with it."""
    who = await caller(request, WRITE, deleted_items())
    item = await who.session.deleted_items.get(object_id)
    _check_kind(who, WRITE, item)
    restored = await who.session.deleted_items.restore(object_id)
    payload = {"@odata.context": context(str(request.base_url), "directoryObjects", None, True)}
    return respond(who, {**payload, **to_graph(restored.record)})


@router.delete(f"/{COLLECTION}/{{object_id}}", status_code=204)
async def delete_for_good(object_id: str, request: Request) -> Response:
    who = await caller(request, WRITE, deleted_items())
    item = await who.session.deleted_items.get(object_id)
    _check_kind(who, WRITE, item)
    await who.session.deleted_items.delete(object_id)
    return Response(status_code=204, headers=who.headers())
