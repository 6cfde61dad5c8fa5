"""The one per-request layer that makes the front end observable, in pure ASGI (it runs on every
request, so its work is done once: no BaseHTTPMiddleware, no second pass over the answer).

It gives the request its `Trail` (request ids), stamps them on the answer, answers an
unexpected crash in Graph's shape with them (so even a 500 can be found in the log),
counts the answer by route template, method and status with its duration, and writes
the request's one log line (`access_log`).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_service.http import access_log
from auth_service.http.deps import SERVER_HEADER
from auth_service.http.http_errors import graph_error
from auth_service.http.lean import header
from auth_service.http.request_ids import CLIENT_REQUEST_ID, SCOPE_KEY, Trail, client_request_id
from auth_service.metrics.http import UNMATCHED, HttpCounts

CLIENT_REQUEST_ID_KEY = CLIENT_REQUEST_ID.encode()
SERVER_KEY = SERVER_HEADER.encode()


class Observe:
    def __init__(self, app: ASGIApp, counts: HttpCounts) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        answered = Answered()
        counts = self.counts
        counts.in_flight += 1
        try:
            await self._answer(scope, receive, send, answered)
        finally:
            counts.in_flight -= 1
            seconds = time.perf_counter() - began
            template = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            counts.answered(template, method, answered.status, seconds)
            trail: Trail | None = scope.get(SCOPE_KEY)
            if trail is not None and trail.deadline_passed:
                counts.deadline_exceeded += 1
            access_log.request_done(
                trail, method, template, answered.status, seconds, answered.server, idle=not counts.in_flight
            )

    async def _answer(self, scope: Scope, receive: Receive, send: Send, answered: Answered) -> None:
        raw = header(scope, CLIENT_REQUEST_ID_KEY)
        try:
            trail = Trail.new(client_request_id(raw))
        except ValueError as exc:
            trail = Trail.new()
            scope[SCOPE_KEY] = trail
            answered.status = 400
            await graph_error(400, "Request_BadRequest", str(exc), scope=scope)(scope, receive, send)
            return
        scope[SCOPE_KEY] = trail
        stamp = trail.headers()

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.status = message["status"]
                headers = message.get("headers", ())
                answered.server = next((v.decode() for k, v in headers if k == SERVER_KEY), None)
                message = {**message, "headers": [*headers, *stamp]}
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception:
            # Starlette's own error layer would answer a bare 500 without our ids; it re-raises
            # for the server's log either way.
            if not answered.status:
                await graph_error(500, "InternalServerError", "unexpected error", scope=scope)(
                    scope, receive, stamped
                )
            raise


class Answered:
    """What the answer said, as far as the log line and the metrics need it."""

    __slots__ = ("server", "status")

    def __init__(self) -> None:
        self.status = 0
        self.server: str | None = None
