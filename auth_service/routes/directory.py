"""The Graph-shaped directory API (`/v1.0/...`): one generic set of handlers per object kind.

Reads are `LeanRoute`s (the request in, our own checks, JSON encoded once); writes keep
FastAPI's dependency and body models, whose cost is small beside a quorum commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from auth_service.errors import BadRequest
from auth_service.graph.bodies import BODIES, request_body
from auth_service.graph.odata import (
    ETAG,
    context,
    etag,
    parse_etag,
    parse_skiptoken,
    shape_of,
    skiptoken,
    to_graph,
)
from auth_service.graph.query import (
    COUNT_NEEDS_EVENTUAL,
    COUNTING,
    FILTER,
    SKIP,
    TOP,
    ListOptions,
    ListQuery,
    consistency_header,
    eventual,
    order_param,
    refuse_unknown,
    search,
    select_param,
    selection,
)
from auth_service.graph.shapes import APPLICATION, DEVICE, GROUP, SERVICE_PRINCIPAL, SIGN_IN, USER, Shape
from auth_service.http.deps import Caller, caller, caller_for
from auth_service.http.lean import LeanRoute, QueryParam, documented, json_response
from auth_service.oauth.permissions import AUDIT, READ, WRITE
from corestore.directory.applications import Applications, ServicePrincipals
from corestore.directory.base import Repository
from corestore.directory.devices import Devices
from corestore.directory.groups import Groups
from corestore.directory.users import Users
from corestore.objects import Page
from corestore.session import TenantSession

router = APIRouter(prefix="/v1.0")


def _etag_schema(schema: dict[str, Any]) -> None:
    """If-Match as the document shows it: a string of ETAG's form (absent, not null, when unset)."""
    schema.clear()
    schema.update({"type": "string", "pattern": ETAG})


# Checked by parse_etag (HTTP strips a value's surrounding whitespace; so does it).
IfMatch = Annotated[str | None, Header(alias="If-Match", json_schema_extra=_etag_schema)]
WriteCaller = Annotated[Caller, Depends(caller_for(WRITE))]
RELATED_SELECT = select_param(USER, GROUP)
PLAIN_COUNT = {
    "responses": {
        "200": {
            "description": "how many",
            "content": {"text/plain": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}},
        }
    }
}
RELATED = (TOP, SKIP, RELATED_SELECT)


@dataclass(frozen=True)
class Kind:
    """A Graph collection: its shape (what a body may set, what a record shows) and its repository."""

    shape: Shape
    rules: type[Repository[Any]]
    repository: Callable[[TenantSession], Repository[Any]]


KINDS = [
    Kind(USER, Users, lambda s: s.users),
    Kind(GROUP, Groups, lambda s: s.groups),
    Kind(APPLICATION, Applications, lambda s: s.applications),
    Kind(SERVICE_PRINCIPAL, ServicePrincipals, lambda s: s.service_principals),
    Kind(DEVICE, Devices, lambda s: s.devices),
]


class ObjectBody(BaseModel):
    """Any Graph object body: properties are checked against the kind's shape, not here."""

    model_config = ConfigDict(extra="allow")


def respond(who: Caller, payload: dict[str, Any], status: int = 200, tag: str | None = None) -> Response:
    headers = who.headers()
    if tag is not None:
        headers["ETag"] = tag
    return json_response(payload, status, headers)


def entity(request: Request, record: Any, select: tuple[str, ...] | None = None) -> dict[str, Any]:
    """One object, with Graph's `@odata.context` for it."""
    collection = shape_of(record).collection
    return {
        "@odata.context": context(str(request.base_url), collection, select, True),
        **to_graph(record, select),
    }


def page_payload(
    request: Request,
    collection: str,
    page: Page[Any],
    select: tuple[str, ...] | None,
    order: str = "id",
) -> dict[str, Any]:
    payload: dict[str, Any] = {"@odata.context": context(str(request.base_url), collection, select)}
    if page.total is not None:
        payload["@odata.count"] = page.total
    payload["value"] = [to_graph(o, select) for o in page.items]
    if page.next_after is not None:
        token = skiptoken(order, page.next_key if order != "id" else None, page.next_after)
        url = request.url.remove_query_params("$skiptoken").include_query_params(**{"$skiptoken": token})
        payload["@odata.nextLink"] = str(url)
    return payload


def read_route(
    path: str,
    endpoint: Callable[[Request], Awaitable[Response]],
    name: str,
    *query: QueryParam,
    on: APIRouter = router,
    headers: tuple[dict[str, Any], ...] = (),
    text: bool = False,
) -> None:
    """A GET route handled by `LeanRoute`, documented with its path and query parameters."""
    params = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
    on.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=name,
        route_class_override=LeanRoute,
        openapi_extra=documented(params, query, headers) | (PLAIN_COUNT if text else {}),
    )


def register(kind: Kind) -> None:
    shape = kind.shape
    query = ListQuery(select_param(shape), order_param(kind.rules.orderable))

    async def list_objects(request: Request) -> Response:
        options = ListOptions.read(request, query)
        who = await caller(request, READ)
        page = await kind.repository(who.session).list(
            options.filter,
            options.top,
            options.after,
            search=options.search,
            order=options.order,
            after_key=options.after_key,
            count=options.count,
        )
        return respond(who, page_payload(request, shape.collection, page, options.select, options.order_text))

    async def count_objects(request: Request) -> Response:
        refuse_unknown(request, COUNTING)
        if not eventual(request):
            raise BadRequest(COUNT_NEEDS_EVENTUAL)
        found_search = search(request)
        who = await caller(request, READ)
        total = await kind.repository(who.session).count(FILTER.read(request), found_search)
        return Response(str(total), 200, who.headers(), "text/plain")

    async def get_object(request: Request) -> Response:
        refuse_unknown(request, (query.select,))
        select = selection(request, query.select)
        who = await caller(request, READ)
        record = await kind.repository(who.session).resolve(request.path_params["object_id"])
        return respond(who, entity(request, record, select), tag=etag(record))

    async def create_object(request: Request, body: ObjectBody, who: WriteCaller) -> Response:
        values = shape.read(body.model_extra or {}, creating=True)
        record = await kind.repository(who.session).create(**values)
        return respond(who, entity(request, record), 201, etag(record))

    async def update_object(
        object_id: str, body: ObjectBody, who: WriteCaller, if_match: IfMatch = None
    ) -> Response:
        changes = shape.read(body.model_extra or {}, creating=False)
        record = await kind.repository(who.session).update(object_id, changes, parse_etag(if_match))
        return Response(status_code=204, headers={**who.headers(), "ETag": etag(record)})

    async def delete_object(object_id: str, who: WriteCaller, if_match: IfMatch = None) -> Response:
        await kind.repository(who.session).delete(object_id, parse_etag(if_match))
        return Response(status_code=204, headers=who.headers())

    path = f"/{shape.collection}"
    read_route(
        path, list_objects, f"list_{shape.collection}", *query.params, headers=(consistency_header(False),)
    )
    read_route(
        path + "/$count",
        count_objects,
        f"count_{shape.collection}",
        *COUNTING,
        headers=(consistency_header(True),),
        text=True,
    )
    read_route(path + "/{object_id}", get_object, f"get_{shape.collection}", query.select)
    create_body, update_body = BODIES[shape.collection]
    router.add_api_route(
        path,
        create_object,
        methods=["POST"],
        name=f"create_{shape.collection}",
        status_code=201,
        openapi_extra=request_body(create_body),
    )
    router.add_api_route(
        path + "/{object_id}",
        update_object,
        methods=["PATCH"],
        name=f"update_{shape.collection}",
        status_code=204,
        openapi_extra=request_body(update_body),
    )
    router.add_api_route(
        path + "/{object_id}",
        delete_object,
        methods=["DELETE"],
        name=f"delete_{shape.collection}",
        status_code=204,
    )


for _kind in KINDS:
    register(_kind)


class MemberRef(BaseModel):
    odata_id: str = Field(alias="@odata.id", max_length=512)


def _ref_id(ref: MemberRef) -> str:
    return ref.odata_id.rstrip("/").rsplit("/", 1)[-1]


ME_SELECT = select_param(USER)


async def me(request: Request) -> Response:
    refuse_unknown(request, (ME_SELECT,))
    select = selection(request, ME_SELECT)
    who = await caller(request, READ)
    if who.token.object_id is None or who.token.roles:
        raise BadRequest("/me needs a signed-in user")
    user = await who.session.users.get(who.token.object_id)
    return respond(who, entity(request, user, select), tag=etag(user))


read_route("/me", me, "me", ME_SELECT)


Relation = Callable[[Caller, str, int, uuid.UUID | None, bool], Awaitable[Page[Any]]]


async def _group_members(
    who: Caller, group_id: str, top: int, after: uuid.UUID | None, transitive: bool
) -> Page[Any]:
    return await who.session.groups.members(group_id, top, after, transitive)


async def _groups_of_user(
    who: Caller, user: str, top: int, after: uuid.UUID | None, transitive: bool
) -> Page[Any]:
    found = await who.session.users.resolve(user)
    return await who.session.groups.member_of(found.id, top, after, transitive)


def register_relation(path: str, fetch: Relation, transitive: bool) -> None:
    """A paged list of related objects: members, memberOf, and their transitive forms."""

    async def related(request: Request) -> Response:
        refuse_unknown(request, RELATED)
        token, select = SKIP.read(request), selection(request, RELATED_SELECT)
        after = None if token is None else parse_skiptoken(token, "id")[1]
        who = await caller(request, READ)
        page = await fetch(who, request.path_params["object_id"], TOP.read(request), after, transitive)
        return respond(who, page_payload(request, "directoryObjects", page, select))

    read_route(path, related, path.strip("/").replace("/", "_"), *RELATED)


for _path, _fetch, _transitive in [
    ("/groups/{object_id}/members", _group_members, False),
    ("/groups/{object_id}/transitiveMembers", _group_members, True),
    ("/users/{object_id}/memberOf", _groups_of_user, False),
    ("/users/{object_id}/transitiveMemberOf", _groups_of_user, True),
]:
    register_relation(_path, _fetch, _transitive)


@router.post("/groups/{group_id}/members/$ref", status_code=204)
async def add_member(group_id: str, ref: MemberRef, who: WriteCaller) -> Response:
    await who.session.groups.add_member(group_id, _ref_id(ref))
    return Response(status_code=204, headers=who.headers())


@router.delete("/groups/{group_id}/members/{member_id}/$ref", status_code=204)
async def remove_member(group_id: str, member_id: str, who: WriteCaller) -> Response:
    await who.session.groups.remove_member(group_id, member_id)
    return Response(status_code=204, headers=who.headers())


class PasswordCredential(BaseModel):
    displayName: str | None = Field(default=None, max_length=256)


@router.post("/applications/{object_id}/addPassword")
async def add_password(object_id: str, body: PasswordCredential, who: WriteCaller) -> Response:
    secret = await who.session.applications.add_secret(object_id)
    return respond(
        who,
        {
            "keyId": str(secret.id),
            "hint": secret.hint,
            "secretText": secret.secret_text,
            "endDateTime": secret.expires_at.isoformat().replace("+00:00", "Z"),
            "displayName": body.displayName,
        },
    )


async def sign_ins(request: Request) -> Response:
    refuse_unknown(request, (TOP,))
    who = await caller(request, AUDIT)
    page = await who.session.sign_ins.list(top=TOP.read(request))
    return respond(who, page_payload(request, SIGN_IN.collection, page, None))


read_route("/auditLogs/signIns", sign_ins, "sign_ins", TOP)
