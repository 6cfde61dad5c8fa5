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
from auth_service.graph.odata import ETAG, VERSION, etag, parse_etag, parse_skiptoken
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
from auth_service.graph.responses import entity, page_payload, respond
from auth_service.graph.shapes import APPLICATION, DEVICE, GROUP, SERVICE_PRINCIPAL, SIGN_IN, USER, Shape
from auth_service.http.deps import Caller, CallerFor, caller
from auth_service.http.gate_first import GateFirst
from auth_service.http.lean import read_route
from auth_service.oauth.permissions import AUDIT, AUDIT_LOGS, READ, WRITE
from corestore.directory.applications import Applications, ServicePrincipals
from corestore.directory.base import Repository
from corestore.directory.devices import Devices
from corestore.directory.groups import Groups
from corestore.directory.users import Users
from corestore.objects import Page
from corestore.session import TenantSession
from corestore.validation import DISPLAY_NAME

router = APIRouter(prefix=VERSION, route_class=GateFirst)


def _etag_schema(schema: dict[str, Any]) -> None:
    """If-Match as the document shows it: a string of ETAG's form (absent, not null, when unset)."""
    schema.clear()
    schema.update({"type": "string", "pattern": ETAG})


# Checked by parse_etag (HTTP strips a value's surrounding whitespace; so does it).
IfMatch = Annotated[str | None, Header(alias="If-Match", json_schema_extra=_etag_schema)]
RELATED_SELECT = select_param(USER, GROUP)
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


def register(kind: Kind) -> None:
    shape = kind.shape
    resource = shape.collection
    query = ListQuery(select_param(shape), order_param(kind.rules.orderable))
    writer = Depends(CallerFor(WRITE, resource))

    async def list_objects(request: Request) -> Response:
        who = await caller(request, READ, resource)
        options = ListOptions.read(request, query)
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
        who = await caller(request, READ, resource)
        refuse_unknown(request, COUNTING)
        if not eventual(request):
            raise BadRequest(COUNT_NEEDS_EVENTUAL)
        found_search = search(request)
        total = await kind.repository(who.session).count(FILTER.read(request), found_search)
        return Response(str(total), 200, who.headers(), "text/plain")

    async def get_object(request: Request) -> Response:
        who = await caller(request, READ, resource)
        refuse_unknown(request, (query.select,))
        select = selection(request, query.select)
        record = await kind.repository(who.session).resolve(request.path_params["object_id"])
        return respond(who, entity(request, record, select), tag=etag(record))

    async def create_object(request: Request, body: ObjectBody, who: Caller = writer) -> Response:
        values = shape.read(body.model_extra or {}, creating=True)
        record = await kind.repository(who.session).create(**values)
        return respond(who, entity(request, record), 201, etag(record))

    async def update_object(
        object_id: str, body: ObjectBody, who: Caller = writer, if_match: IfMatch = None
    ) -> Response:
        changes = shape.read(body.model_extra or {}, creating=False)
        record = await kind.repository(who.session).update(object_id, changes, parse_etag(if_match))
        return Response(status_code=204, headers={**who.headers(), "ETag": etag(record)})

    async def delete_object(object_id: str, who: Caller = writer, if_match: IfMatch = None) -> Response:
        await kind.repository(who.session).delete(object_id, parse_etag(if_match))
        return Response(status_code=204, headers=who.headers())

    path = f"/{shape.collection}"
    read_route(
        path,
        list_objects,
        f"list_{shape.collection}",
        *query.params,
        on=router,
        headers=(consistency_header(False),),
    )
    read_route(
        path + "/$count",
        count_objects,
        f"count_{shape.collection}",
        *COUNTING,
        on=router,
        headers=(consistency_header(True),),
        text=True,
    )
    read_route(path + "/{object_id}", get_object, f"get_{shape.collection}", query.select, on=router)
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
    who = await caller(request, READ, USER.collection)
    refuse_unknown(request, (ME_SELECT,))
    select = selection(request, ME_SELECT)
    if who.token.object_id is None or who.token.roles:
        raise BadRequest("/me needs a signed-in user")
    user = await who.session.users.get(who.token.object_id)
    return respond(who, entity(request, user, select), tag=etag(user))


read_route("/me", me, "me", ME_SELECT, on=router)


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


def register_relation(path: str, resource: str, fetch: Relation, transitive: bool) -> None:
    """A paged list of related objects: members, memberOf, and their transitive forms."""

    async def related(request: Request) -> Response:
        who = await caller(request, READ, resource)
        refuse_unknown(request, RELATED)
        token, select = SKIP.read(request), selection(request, RELATED_SELECT)
        after = None if token is None else parse_skiptoken(token, "id")[1]
        page = await fetch(who, request.path_params["object_id"], TOP.read(request), after, transitive)
        return respond(who, page_payload(request, "directoryObjects", page, select))

    read_route(path, related, path.strip("/").replace("/", "_"), *RELATED, on=router)


for _path, _resource, _fetch, _transitive in [
    ("/groups/{object_id}/members", GROUP.collection, _group_members, False),
    ("/groups/{object_id}/transitiveMembers", GROUP.collection, _group_members, True),
    ("/users/{object_id}/memberOf", USER.collection, _groups_of_user, False),
    ("/users/{object_id}/transitiveMemberOf", USER.collection, _groups_of_user, True),
]:
    register_relation(_path, _resource, _fetch, _transitive)

GroupWriter = Annotated[Caller, Depends(CallerFor(WRITE, GROUP.collection))]
ApplicationWriter = Annotated[Caller, Depends(CallerFor(WRITE, APPLICATION.collection))]


@router.post("/groups/{group_id}/members/$ref", status_code=204)
async def add_member(group_id: str, ref: MemberRef, who: GroupWriter) -> Response:
    await who.session.groups.add_member(group_id, _ref_id(ref))
    return Response(status_code=204, headers=who.headers())


@router.delete("/groups/{group_id}/members/{member_id}/$ref", status_code=204)
async def remove_member(group_id: str, member_id: str, who: GroupWriter) -> Response:
    await who.session.groups.remove_member(group_id, member_id)
    return Response(status_code=204, headers=who.headers())


class PasswordCredential(BaseModel):
    displayName: str | None = Field(default=None, max_length=DISPLAY_NAME.max_length)


@router.post("/applications/{object_id}/addPassword")
async def add_password(object_id: str, body: PasswordCredential, who: ApplicationWriter) -> Response:
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
    who = await caller(request, AUDIT, AUDIT_LOGS)
    refuse_unknown(request, (TOP,))
    page = await who.session.sign_ins.list(top=TOP.read(request))
    return respond(who, page_payload(request, SIGN_IN.collection, page, None))


read_route("/auditLogs/signIns", sign_ins, "sign_ins", TOP, on=router)
