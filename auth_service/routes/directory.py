"""The Graph-shaped directory API (`/v1.0/...`): one generic set of handlers per object kind."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from auth_service.deps import READ, WRITE, Caller, caller_for
from auth_service.errors import BadRequest
from auth_service.graph import etag, from_graph, parse_etag, parse_skiptoken, skiptoken, to_graph
from corestore.directory.base import Repository
from corestore.objects import Page
from corestore.session import TenantSession

router = APIRouter(prefix="/v1.0")
MAX_TOP = 999
Top = Annotated[int, Query(alias="$top", ge=1, le=MAX_TOP)]
Filter = Annotated[str | None, Query(alias="$filter", max_length=2048)]
Select = Annotated[str | None, Query(alias="$select", max_length=1024)]
SkipToken = Annotated[str | None, Query(alias="$skiptoken", max_length=64)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
ReadCaller = Annotated[Caller, Depends(caller_for(READ))]
WriteCaller = Annotated[Caller, Depends(caller_for(WRITE))]
AuditCaller = Annotated[Caller, Depends(caller_for("AuditLog.Read.All"))]


@dataclass(frozen=True)
class Kind:
    path: str
    repository: Callable[[TenantSession], Repository[Any]]
    creatable: dict[str, str]
    updatable: dict[str, str]


def _fields(*names: str) -> dict[str, str]:
    from auth_service.graph import camel

    return {camel(n): n for n in names}


KINDS = [
    Kind(
        "users",
        lambda s: s.users,
        _fields("user_principal_name", "display_name", "mail", "account_enabled", "extension", "password"),
        _fields("user_principal_name", "display_name", "mail", "account_enabled", "extension", "password"),
    ),
    Kind(
        "groups",
        lambda s: s.groups,
        {**_fields("display_name", "mail_nickname", "description"), "groupKind": "kind"},
        _fields("display_name", "mail_nickname", "description"),
    ),
    Kind("applications", lambda s: s.applications, _fields("display_name"), _fields("display_name")),
    Kind("servicePrincipals", lambda s: s.service_principals, {}, _fields("display_name", "account_enabled")),
    Kind(
        "devices",
        lambda s: s.devices,
        _fields("display_name", "device_id", "operating_system", "trust_type", "owner_id"),
        _fields("display_name", "operating_system", "trust_type", "owner_id"),
    ),
]


class ObjectBody(BaseModel):
    """Any Graph object body: properties are checked against the kind's table, not here."""

    model_config = ConfigDict(extra="allow")


def respond(
    caller: Caller, payload: dict[str, Any], status: int = 200, tag: str | None = None
) -> JSONResponse:
    headers = caller.headers()
    if tag is not None:
        headers["ETag"] = tag
    return JSONResponse(payload, status_code=status, headers=headers)


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


def register(kind: Kind) -> None:
    async def list_objects(
        request: Request,
        caller: ReadCaller,
        top: Top = 100,
        filter: Filter = None,
        select: Select = None,
        skip: SkipToken = None,
    ) -> JSONResponse:
        page = await kind.repository(caller.session).list(filter=filter, top=top, after=_after(skip))
        return respond(caller, page_payload(request, page, select))

    async def get_object(object_id: str, caller: ReadCaller, select: Select = None) -> JSONResponse:
        record = await kind.repository(caller.session).resolve(object_id)
        return respond(caller, to_graph(record, selection(select)), tag=etag(record))

    async def create_object(body: ObjectBody, caller: WriteCaller) -> JSONResponse:
        values = from_graph(body.model_extra or {}, kind.creatable)
        if not kind.creatable:
            raise BadRequest(f"{kind.path} are created with their application")
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
    router.add_api_route(path, list_objects, methods=["GET"], name=f"list_{kind.path}")
    router.add_api_route(path + "/{object_id}", get_object, methods=["GET"], name=f"get_{kind.path}")
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


@router.get("/me")
async def me(caller: ReadCaller, select: Select = None) -> JSONResponse:
    if caller.token.object_id is None or caller.token.roles:
        raise BadRequest("/me needs a signed-in user")
    user = await caller.session.users.get(caller.token.object_id)
    return respond(caller, to_graph(user, selection(select)), tag=etag(user))


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

    async def related(
        request: Request,
        object_id: str,
        caller: ReadCaller,
        top: Top = 100,
        skip: SkipToken = None,
        select: Select = None,
    ) -> JSONResponse:
        page = await fetch(caller, object_id, top, _after(skip), transitive)
        return respond(caller, page_payload(request, page, select))

    router.add_api_route(path, related, methods=["GET"], name=path.strip("/").replace("/", "_"))


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
async def add_password(object_id: str, body: PasswordCredential, caller: WriteCaller) -> JSONResponse:
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


@router.get("/auditLogs/signIns")
async def sign_ins(request: Request, caller: AuditCaller, top: Top = 100) -> JSONResponse:
    page = await caller.session.sign_ins.list(top=top)
    return respond(caller, {"value": [to_graph(s) for s in page.items]})
