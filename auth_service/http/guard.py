"""Every request's one pure-ASGI layer: it observes and guards the request in one frame, with one
deadline and one wrapper of `send` (each nested layer and wrapper cost every request an await).

What it observes:
- the request's `Trail` (request ids), stamped on every answer; an unexpected crash is
  answered in Graph's shape with them (so even a 500 can be found in the log);
- the answer, counted by route template, method and status with its duration, and the
  request's one log line (`access_log`).

What it guards:
- the deadline (a `Deadline`: no timer per request; it fires up to a tenth of a second
  late): past it the client gets 503 with Retry-After, never a hang. The store bounds
  its own waits (a write's statements, its commit, each read); this is the backstop for
  everything else. A request cut off here may have written, so the answer says so.
- the body limit: a body over the size is refused (413) before it is buffered, whether its
  length is declared or it streams.
- the geo fence (`geo_fence.misplaced`): a tenant of another geo named in the path is sent
  where it belongs before anything else runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_service.http import access_log
from auth_service.http.deps import SERVER_KEY
from auth_service.http.geo_fence import Elsewhere, Locate, misplaced, path_tenant
from auth_service.http.hot import HotPaths
from auth_service.http.http_errors import RETRY_AFTER_S, graph_error
from auth_service.http.lean import header
from auth_service.http.request_ids import CLIENT_REQUEST_ID, SCOPE_KEY, Trail, client_request_id
from auth_service.metrics.http import UNMATCHED, HttpCounts
from corestore.deadlines import Deadline

REQUEST_DEADLINE_S = 15.0
MAX_BODY_BYTES = 1024 * 1024
CONTENT_LENGTH = b"content-length"
CLIENT_REQUEST_ID_KEY = CLIENT_REQUEST_ID.encode()
START = "http.response.start"
BODY = "http.response.body"


class BodyTooLarge(HTTPException):
    """Raised while the app reads the body; FastAPI passes HTTP exceptions through as they are."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over {max_bytes} bytes")


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        locate: Locate,
        elsewhere: Elsewhere,
        *,
        counts: HttpCounts | None = None,
        seconds: float = REQUEST_DEADLINE_S,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        # The hot routes are answered in this layer's frame: each nested call costs every request an await.
        self.hot = app if isinstance(app, HotPaths) else None
        self.fence = (locate, elsewhere)
        self.counts = HttpCounts() if counts is None else counts
        self.seconds = seconds
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        answered = Answered()
        counts = self.counts
        counts.in_flight += 1
        try:
            # One frame from here to the endpoint: a hot request's every await passes each frame.
            try:
                trail = Trail.new(client_request_id(header(scope, CLIENT_REQUEST_ID_KEY)))
            except ValueError as exc:
                scope[SCOPE_KEY] = Trail.new()
                answered.status = 400
                await graph_error(400, "Request_BadRequest", str(exc), scope=scope)(scope, receive, send)
                return
            scope[SCOPE_KEY] = trail
            stamp = trail.headers()
            max_bytes = self.max_bytes
            seen = 0

            async def counted() -> Message:
                nonlocal seen
                message = await receive()
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise BodyTooLarge(max_bytes)
                return message

            async def stamped(message: Message) -> None:
                if message["type"] == START:
                    headers = message.get("headers", ())
                    answered.saw(message["status"], headers)
                    message = {**message, "headers": [*headers, *stamp]}
                await send(message)

            deadline = Deadline(self.seconds)
            try:
                try:
                    with deadline:
                        try:
                            declared = header(scope, CONTENT_LENGTH)
                            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                                raise BodyTooLarge(max_bytes)
                            tenant = path_tenant(scope)
                            elsewhere = (
                                None if tenant is None else await misplaced(tenant, scope, *self.fence)
                            )
                            hot = self.hot
                            if elsewhere is not None:
                                await elsewhere(scope, counted, stamped)
                            elif hot is None:
                                await self.app(scope, counted, stamped)
                            elif (endpoint := hot.find(scope)) is None:
                                await hot.api(scope, counted, stamped)
                            else:
                                request = Request(scope, counted, stamped)
                                try:
                                    response = await endpoint(request)
                                except Exception as exc:
                                    response = await hot.recover(request, exc)
                                await _sent(response, scope, counted, send, stamped, stamp, answered)
                        except BodyTooLarge:
                            if not answered.status:
                                await self._refuse(scope, receive, stamped)
                except TimeoutError:
                    if not deadline.expired or answered.status:
                        raise
                    await self._late(trail, scope, receive, stamped)
            except Exception:
                # Starlette's own error layer would answer a bare 500 without our ids; it re-raises
                # for the server's log either way.
                if not answered.status:
                    await graph_error(500, "InternalServerError", "unexpected error", scope=scope)(
                        scope, receive, stamped
                    )
                raise
        finally:
            counts.in_flight -= 1
            seconds = time.perf_counter() - began
            template = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            counts.answered(template, method, answered.status, seconds)
            found: Trail | None = scope.get(SCOPE_KEY)
            if found is not None and found.deadline_passed:
                counts.deadline_exceeded += 1
            access_log.request_done(found, method, template, answered.status, seconds, answered.server)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body over {self.max_bytes} bytes"
        await graph_error(413, "Request_EntityTooLarge", message, scope=scope)(scope, receive, send)

    async def _late(self, trail: Trail, scope: Scope, receive: Receive, send: Send) -> None:
        trail.deadline_passed = True
        message = f"no answer within {self.seconds:g}s; if this was a write, it may have taken effect"
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        await graph_error(503, "ServiceUnavailable", message, headers, scope=scope)(scope, receive, send)


async def _sent(
    response: Response,
    scope: Scope,
    receive: Receive,
    send: Send,
    stamped: Send,
    stamp: list[tuple[bytes, bytes]],
    answered: Answered,
) -> None:
    """A hot route's answer, sent as `Response` would send it but with the ids added in place
    (no wrapper per message); anything else `Response` might do (a background task, a body of
    its own making) goes through the stamping wrapper."""
    if response.background is not None or type(response).__call__ is not Response.__call__:
        await response(scope, receive, stamped)
        return
    status, headers = response.status_code, response.raw_headers
    answered.saw(status, headers)
    await send({"type": START, "status": status, "headers": [*headers, *stamp]})
    await send({"type": BODY, "body": response.body})


class Answered:
    """What the answer said, as far as the log line and the metrics need it."""

    __slots__ = ("server", "status")

    def __init__(self) -> None:
        self.status = 0
        self.server: str | None = None

    def saw(self, status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
        """The answer's start: its status, and the database server it names."""
        self.status = status
        for key, value in headers:
            if key == SERVER_KEY:
                self.server = value.decode()
                break
