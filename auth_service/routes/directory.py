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

from auth_service.deps import Caller, caller, caller_for
from auth_service.errors import BadRequest
from auth_service.graph import camel, etag, from_graph, parse_etag, parse_skiptoken, skiptoken, to_graph
from auth_service.lean import LeanRoute, QueryParam, documented, json_response
from auth_service.permissions import AUDIT, READ, WRITE
from corestore.directory.applications import Applications, ServicePrincipals
from corestore.directory.base import MAX_PAGE, Repository
from corestore.directory.devices import Devices
from corestore.directory.groups import Groups
from corestore.directory.users import Users
from corestore.filters import MAX_LENGTH as MAX_FILTER
from corestore.objects import Page
from corestore.session import TenantSession

router = APIRouter(prefix="/v1.0")
TOP = QueryParam("$top", minimum=1, maximum=MAX_PAGE, default=100)
FILTER = QueryParam("$filter", max_length=MAX_FILTER)
SELECT = QueryParam("$select", max_length=1024)
SKIP = QueryParam("$skiptoken", max_length=64)
IfMatch = Annotated[str | None, Header(alias="If-Match")]
WriteCaller = Annotated[Caller, Depends(caller_for(WRITE))]


@dataclass(frozen=True)
class Kind:
    """A Graph collection and the repository behind it, whose rules say what a body may set."""

    path: str
    rules: type[Repository[Any]]
    repository: Callable[[TenantSession], Repository[Any]]

    @property
    def creatable(self) -> dict[str, str]:
        return {camel(n): n for n in self.rules.rules}

    @property
    def updatable(self) -> dict[str, str]:
        return {camel(n): n for n in self.rules.updatable}


KINDS = [
    Kind("users", Users, lambda s: s.users),
    Kind("groups", Groups, lambda s: s.groups),
    Kind("applications", Applications, lambda s: s.applications),
    Kind("servicePrincipals", ServicePrincipals, lambda s: s.service_principals),
    Kind("devices", Devices, lambda s: s.devices),
]


class ObjectBody(BaseModel):
    """Any Graph object body: properties are checked against the kind's table, not here."""

    model_config = ConfigDict(extra="allow")


def respond(who: Caller, payload: dict[str, Any], status: int = 200, tag: str | None = None) -> Response:
    headers = who.headers()
    if tag is not None:
        headers["ETag"] = tag
    return json_response(payload, status, headers)


def selection(select: str | None) -> tuple[str, ...] | None:
    return None if select is None else tuple(s.strip() for s in select.split(",") if s.strip())


def page_payload(request: Request, page: Page[Any], select: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "@odata.context": f"{request.base_url}v1.0/$metadata",
        "value": [to_graph(o, selection(select)) for o in page.items],
    }
    if page.next_after is not None:
        url = request.url.remove_query_params("$skiptoken").include_query_params(
            **{"$skiptoken": skiptoken(page.next_after)}
        )
        payload["@odata.nextLink"] = str(url)
    return payload


def _after(token: str | None) -> uuid.UUID | None:
    return None if token is None else parse_skiptoken(token)


def read_route(
    path: str, endpoint: Callable[[Request], Awaitable[Response]], name: str, *query: QueryParam
) -> None:
    """A GET route handled by `LeanRoute`, documented with its path and query parameters."""
    params = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=name,
        route_class_override=LeanRoute,
        openapi_extra=documented(params, query),
    )


def register(kind: Kind) -> None:
    async def list_objects(request: Request) -> Response:
        who = await caller(request, READ)
        repository = kind.repository(who.session)
        after = _after(SKIP.read(request))
        page = await repository.list(filter=FILTER.read(request), top=TOP.read(request), after=after)
        return respond(who, page_payload(request, page, SELECT.read(request)))

    async def get_object(request: Request) -> Response:
        who = await caller(request, READ)
        record = await kind.repository(who.session).resolve(request.path_params["object_id"])
        return respond(who, to_graph(record, selection(SELECT.read(request))), tag=etag(record))

    async def create_object(body: ObjectBody, caller: WriteCaller) -> Response:
        values = from_graph(body.model_extra or {}, kind.creatable)
        record = await kind.repository(caller.session).create(**values)
        return respond(caller, to_graph(record), 201, etag(record))

    async def update_object(
        object_id: str, body: ObjectBody, caller: WriteCaller, if_match: IfMatch = None
    ) -> Response:
        changes = from_graph(body.model_extra or {}, kind.updatable)
        record = await kind.repository(caller.session).update(object_id, changes, parse_etag(if_match))
        return Response(status_code=204, headers={**caller.headers(), "ETag": etag(record)})

    async def delete_object(object_id: str, caller: WriteCaller, if_match: IfMatch = None) -> Response:
        await kind.repository(caller.session).delete(object_id, parse_etag(if_match))
        return Response(status_code=204, headers=caller.headers())

    path = f"/{kind.path}"
    read_route(path, list_objects, f"list_{kind.path}", TOP, FILTER, SELECT, SKIP)
    read_route(path + "/{object_id}", get_object, f"get_{kind.path}", SELECT)
    router.add_api_route(path, create_object, methods=["POST"], name=f"create_{kind.path}", status_code=201)
    router.add_api_route(
        path + "/{object_id}", update_object, methods=["PATCH"], name=f"update_{kind.path}", status_code=204
    )
    router.add_api_route(
        path + "/{object_id}", delete_object, methods=["DELETE"], name=f"delete_{kind.path}", status_code=204
    )


for _kind in KINDS:
    register(_kind)


class MemberRef(BaseModel):
    odata_id: str = Field(alias="@odata.id", max_length=512)


def _ref_id(ref: MemberRef) -> str:
    return ref.odata_id.rstrip("/").rsplit("/", 1)[-1]


async def me(request: Request) -> Response:
    who = await caller(request, READ)
    if who.token.object_id is None or who.token.roles:
        raise BadRequest("/me needs a signed-in user")
    user = await who.session.users.get(who.token.object_id)
    return respond(who, to_graph(user, selection(SELECT.read(request))), tag=etag(user))


read_route("/me", me, "me", SELECT)


Relation = Callable[[Caller, str, int, uuid.UUID | None, bool], Awaitable[Page[Any]]]


async def _group_members(
    caller: Caller, group_id: str, top: int, after: uuid.UUID | None, transitive: bool
) -> Page[Any]:
    return await caller.session.groups.members(group_id, top, after, transitive)


async def _groups_of_user(
    caller: Caller, user: str, top: int, after: uuid.UUID | None, transitive: bool
) -> Page[Any]:
    found = await caller.session.users.resolve(user)
    return await caller.session.groups.member_of(found.id, top, after, transitive)


def register_relation(path: str, fetch: Relation, transitive: bool) -> None:
    """A paged list of related objects: members, memberOf, and their transitive forms."""

    async def related(request: Request) -> Response:
        who = await caller(request, READ)
        object_id, top = request.path_params["object_id"], TOP.read(request)
        page = await fetch(who, object_id, top, _after(SKIP.read(request)), transitive)
        return respond(who, page_payload(request, page, SELECT.read(request)))

    read_route(path, related, path.strip("/").replace("/", "_"), TOP, SKIP, SELECT)


for _path, _fetch, _transitive in [
    ("/groups/{object_id}/members", _group_members, False),
    ("/groups/{object_id}/transitiveMembers", _group_members, True),
    ("/users/{object_id}/memberOf", _groups_of_user, False),
    ("/users/{object_id}/transitiveMemberOf", _groups_of_user, True),
]:
    register_relation(_path, _fetch, _transitive)


@router.post("/groups/{group_id}/members/$ref", status_code=204)
async def add_member(group_id: str, ref: MemberRef, caller: WriteCaller) -> Response:
    await caller.session.groups.add_member(group_id, _ref_id(ref))
    return Response(status_code=204, headers=caller.headers())


@router.delete("/groups/{group_id}/members/{member_id}/$ref", status_code=204)
async def remove_member(group_id: str, member_id: str, caller: WriteCaller) -> Response:
    await caller.session.groups.remove_member(group_id, member_id)
    return Response(status_code=204, headers=caller.headers())


class PasswordCredential(BaseModel):
    displayName: str | None = Field(default=None, max_length=256)


@router.post("/applications/{object_id}/addPassword")
async def add_password(object_id: str, body: PasswordCredential, caller: WriteCaller) -> Response:
    secret = await caller.session.applications.add_secret(object_id)
    return respond(
        caller,
        {
            "keyId": str(secret.id),
            "hint": secret.hint,
            "secretText": secret.secret_text,
            "endDateTime": secret.expires_at.isoformat().replace("+00:00", "Z"),
            "displayName": body.displayName,
        },
    )


async def sign_ins(request: Request) -> Response:
    who = await caller(request, AUDIT)
    page = await who.session.sign_ins.list(top=TOP.read(request))
    return respond(who, {"value": [to_graph(s) for s in page.items]})


read_route("/auditLogs/signIns", sign_ins, "sign_ins", TOP)
