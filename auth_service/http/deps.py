"""Who is calling: a verified token, its permission checked, throttled, bound to its tenant.

This is where a Graph request becomes a `TenantSession`, and the tenant comes from
the token's `tid` alone (the token endpoint's authentication context is the other
place a front end opens one: before a token exists, for the tenant in its path).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from auth_service.errors import BadRequest, Forbidden, InvalidToken
from auth_service.http.geo_fence import Confinement
from auth_service.http.lean import header
from auth_service.http.request_ids import Trail, trail_of
from auth_service.http.throttle import Throttle
from auth_service.oauth.permissions import permitted
from auth_service.oauth.tokens import TokenVerifier, VerifiedToken, guid
from corestore.session import TenantSession
from corestore.types import Actor, CommitPosition

if TYPE_CHECKING:
    from auth_service.services import Services

CONSISTENCY_HEADER = "x-corestore-consistency"
SERVER_HEADER = "x-corestore-server"
REGION_HEADER = "x-corestore-region"
# Said while the tenant's unit has no replica confirming commits: its topology's no_quorum
# policy, `degrade` (commits go on asynchronously) or `wait` (commits wait for a replica).
QUORUM_HEADER = "x-corestore-quorum-lost"
CONSISTENCY_KEY = CONSISTENCY_HEADER.encode()
SERVER_KEY = SERVER_HEADER.encode()
REGION_KEY = REGION_HEADER.encode()
QUORUM_KEY = QUORUM_HEADER.encode()
AUTHORIZATION = b"authorization"


@dataclass
class Caller:
    token: VerifiedToken
    session: TenantSession
    region: str

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """Where the answer came from, and the token that lets the next request read this one's
        writes; as ASGI sends headers (a read's answer skips a dict and its encoding)."""
        session = self.session
        out = [(REGION_KEY, self.region.encode())]
        if session.last_server is not None:
            out.append((SERVER_KEY, session.last_server.encode()))
        if session.consistency is not None:
            out.append((CONSISTENCY_KEY, str(session.consistency).encode()))
        if session.quorum_lost:
            out.append((QUORUM_KEY, session.unit.no_quorum.value.encode()))
        return out

    def headers(self) -> dict[str, str]:
        """`raw_headers`, for a `Response` built with a mapping."""
        return {key.decode(): value.decode() for key, value in self.raw_headers()}


# A verified token's tenant session (`CoreStore.session`), reading at least the given position.
Sessions = Callable[[VerifiedToken, CommitPosition | None], Awaitable[TenantSession]]


def services(request: Request) -> Services:
    """The parts `bootstrap` built for this instance; a handler takes the ones it uses."""
    found: Services = request.app.state.services
    return found


def noted(request: Request, tenant_id: uuid.UUID | str, app_id: uuid.UUID | str | None) -> None:
    """Who the request acts for, for its log line, once it is known to be of this geo. A client
    id is logged only as the GUID an app id is (`tokens.guid`): a form's text could be anything,
    a secret too."""
    trail = trail_of(request.scope)
    if trail is None:
        return
    trail.tenant_id = str(tenant_id)
    if app_id is not None:
        trail.client_app_id = str(app_id)


def bearer(request: Request) -> str:
    found = header(request.scope, AUTHORIZATION)
    scheme, _, value = ("" if found is None else found.decode("latin-1")).partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidToken("a bearer token is required")
    return value.strip()


def _consistency(request: Request) -> CommitPosition | None:
    value = header(request.scope, CONSISTENCY_KEY)
    if value is None:
        return None
    try:
        return CommitPosition.parse(value.decode("latin-1"))
    except ValueError:
        raise BadRequest(f"{CONSISTENCY_HEADER} is not a token this API returned") from None


def _actor(token: VerifiedToken, trail: Trail | None) -> Actor:
    """Who the request's writes are audited as: the signed-in user (a token with scopes), else the
    application (its appId and service principal); the correlation id is the request's id."""
    correlation = guid(trail.request_id if trail is not None else None)  # the actor setting holds ids only
    if token.scopes:
        return Actor(user_id=token.object_id, correlation_id=correlation)
    return Actor(app_id=token.app_id, principal_id=token.object_id, correlation_id=correlation)


class Gate:
    """Every Graph request's checks, in order: the token, the permission, the tenant's session,
    the geo, the throttle."""

    def __init__(
        self,
        verifier: TokenVerifier,
        sessions: Sessions,
        confinement: Confinement,
        throttle: Throttle,
        region: str,
    ) -> None:
        self.verifier = verifier
        self.sessions = sessions
        self.confinement = confinement
        self.throttle = throttle
        self.region = region

    async def caller(self, request: Request, permission: str, resource: str) -> Caller:
        """The caller, if it holds `permission` on `resource` (the one its route declares)."""
        token = self.verifier.verify_access(bearer(request))
        if not permitted(token.granted, permission, resource):
            raise Forbidden(f"this operation needs {permission}")
        session = await self.sessions(token, _consistency(request))
        trail = trail_of(request.scope)
        session.audit_as(lambda: _actor(token, trail))
        self.confinement.confine(session.unit.geo)  # nothing of another geo's tenant is processed here
        noted(request, token.tenant_text, token.app_text)
        self.throttle.check(token.tenant_text, token.client_id, write=request.method != "GET")
        return Caller(token, session, self.region)


async def caller(request: Request, permission: str, resource: str) -> Caller:
    """The caller, if it holds `permission` on `resource` (as a scope or an app role); read routes
    call this first, before they look at their query."""
    return await services(request).gate.caller(request, permission, resource)


def signed_in(request: Request) -> VerifiedToken:
    """A verified token, whatever it may do: for a route whose parts check their own permissions ($batch)."""
    return services(request).verifier.verify_access(bearer(request))


def operator(request: Request) -> Services:
    """This instance's parts, for a caller holding the operator credential (tenant creation, metrics)."""
    parts = services(request)
    if not hmac.compare_digest(bearer(request).encode(), parts.operator_key.encode()):
        raise InvalidToken("the operator credential is required")
    return parts


@dataclass(frozen=True)
class CallerFor:
    """`caller` as a FastAPI dependency, for the write routes (their bodies are models). A route of
    `GateFirst` runs it before FastAPI reads the body; the route's dependency then finds that caller
    (one token check, one throttle count per request)."""

    permission: str
    resource: str

    async def __call__(self, request: Request) -> Caller:
        key = f"corestore.caller:{self.permission}:{self.resource}"
        found = request.scope.get(key)
        if not isinstance(found, Caller):
            found = request.scope[key] = await caller(request, self.permission, self.resource)
        return found
