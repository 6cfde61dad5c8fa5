"""The one per-request layer that makes the front end observable, in pure ASGI (it runs on every
request, so its work is done once: no BaseHTTPMiddleware, no second pass over the answer).

It gives the request its `Trail` (request ids), stamps them on the answer, answers an
unexpected crash in Graph's shape with them (so even a 500 can be found in the log), and
counts the answer by route template, method and status with its duration.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_service.http.http_errors import graph_error
from auth_service.http.request_ids import CLIENT_REQUEST_ID, SCOPE_KEY, Trail, client_request_id
from auth_service.metrics.families import UNMATCHED, FrontEndMetrics

CLIENT_REQUEST_ID_KEY = CLIENT_REQUEST_ID.encode()


class Observe:
    def __init__(self, app: ASGIApp, metrics: FrontEndMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500
        self.metrics.in_flight.inc()
        try:
            status = await self._answer(scope, receive, send)
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED)
            self.metrics.answered(template, scope["method"], status, time.perf_counter() - began)
            trail = scope.get(SCOPE_KEY)
            if trail is not None and trail.deadline_passed:
                self.metrics.deadline.inc()

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> int:
        """The status answered."""
        raw = next((v for k, v in scope["headers"] if k == CLIENT_REQUEST_ID_KEY), None)
        try:
            trail = Trail.new(client_request_id(raw))
        except ValueError as exc:
            trail = Trail.new()
            scope[SCOPE_KEY] = trail
            await graph_error(400, "Request_BadRequest", str(exc), scope=scope)(scope, receive, send)
            return 400
        scope[SCOPE_KEY] = trail
        stamp = trail.headers()
        status = 0

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), *stamp]}
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception:
            # Starlette's own error layer would answer a bare 500 without our ids; it re-raises
            # for the server's log either way.
            if not status:
                await graph_error(500, "InternalServerError", "unexpected error", scope=scope)(
                    scope, receive, stamped
                )
            raise
        return status
