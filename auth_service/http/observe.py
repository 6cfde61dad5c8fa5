"""The one per-request layer that makes the front end observable, in pure ASGI (it runs on every
request, so its work is done once: no BaseHTTPMiddleware, no second pass over the answer).

It gives the request its `Trail` (request ids), stamps them on the answer, and answers
an unexpected crash in Graph's shape with them, so even a 500 can be found in the log.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_service.http.http_errors import graph_error
from auth_service.http.request_ids import CLIENT_REQUEST_ID, SCOPE_KEY, Trail, client_request_id

CLIENT_REQUEST_ID_KEY = CLIENT_REQUEST_ID.encode()


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope["headers"] if k == CLIENT_REQUEST_ID_KEY), None)
        try:
            trail = Trail.new(client_request_id(raw))
        except ValueError as exc:
            trail = Trail.new()
            scope[SCOPE_KEY] = trail
            await graph_error(400, "Request_BadRequest", str(exc), scope=scope)(scope, receive, send)
            return
        scope[SCOPE_KEY] = trail
        stamp = trail.headers()
        started = False

        async def stamped(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", ()), *stamp]}
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception:
            # Starlette's own error layer would answer a bare 500 without our ids; it re-raises
            # for the server's log either way.
            if not started:
                await graph_error(500, "InternalServerError", "unexpected error", scope=scope)(
                    scope, receive, stamped
                )
            raise
