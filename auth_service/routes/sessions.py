"""Graph's revokeSignInSessions: a user's refresh tokens and codes stop working on every front end.

An administrator revokes anyone's (`/users/{id}/revokeSignInSessions`, a directory write),
and so does an application assigned User.RevokeSessions.All or User.ReadWrite.All, as in
Graph; a signed-in user their own (`/me/revokeSignInSessions`). Access tokens already issued
stay valid until they expire, as in Entra.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from auth_service.errors import BadRequest
from auth_service.graph.odata import VERSION, context
from auth_service.graph.responses import base_url, respond
from auth_service.graph.shapes import USER
from auth_service.http.deps import Caller, caller
from auth_service.oauth.permissions import SIGN_IN_SESSIONS, USER_READ, WRITE

router = APIRouter(prefix=VERSION)


def _revoked(request: Request, who: Caller) -> Response:
    return respond(who, {"@odata.context": context(base_url(request), "Edm.Boolean", None), "value": True})


@router.post("/users/{user_id}/revokeSignInSessions")
async def revoke_user_sessions(request: Request, user_id: str) -> Response:
    who = await caller(request, WRITE, SIGN_IN_SESSIONS)
    await who.session.users.revoke_sign_in_sessions(user_id)
    return _revoked(request, who)


@router.post("/me/revokeSignInSessions")
async def revoke_my_sessions(request: Request) -> Response:
    who = await caller(request, USER_READ, USER.collection)
    if who.token.roles:
        raise BadRequest("/me needs a signed-in user")
    await who.session.users.revoke_sign_in_sessions(str(who.token.object_id))
    return _revoked(request, who)
