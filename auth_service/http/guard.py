"""Every request's guards in one pure-ASGI layer: one deadline and one wrapper of `send` per request.

- The deadline (a `Deadline`: no timer per request; it fires up to a tenth of a second
  late): past it the client gets 503 with Retry-After, never a hang. The store bounds
  its own waits (a write's statements, its commit, each read); this is the backstop for
  everything else. A request cut off here may have written, so the answer says so.
- The body limit: a body over the size is refused (413) before it is buffered, whether its
  length is declared or it streams.
- The geo fence (`geo_fence.misplaced`): a tenant of another geo named in the path is sent
  where it belongs before anything else runs.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_service.http.geo_fence import Elsewhere, Locate, misplaced
from auth_service.http.http_errors import RETRY_AFTER_S, graph_error
from auth_service.http.lean import header
from auth_service.http.request_ids import trail_of
from corestore.deadlines import Deadline

REQUEST_DEADLINE_S = 15.0
MAX_BODY_BYTES = 1024 * 1024
CONTENT_LENGTH = b"content-length"


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
        seconds: float = REQUEST_DEADLINE_S,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.locate = locate
        self.elsewhere = elsewhere
        self.seconds = seconds
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        deadline = Deadline(self.seconds)
        try:
            with deadline:
                try:
                    await self._guarded(scope, counted, tracking)
                except BodyTooLarge:
                    if not started:
                        await self._refuse(scope, receive, tracking)
        except TimeoutError:
            if not deadline.expired or started:
                raise
            await self._late(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = header(scope, CONTENT_LENGTH)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise BodyTooLarge(self.max_bytes)
        elsewhere = await misplaced(scope, self.locate, self.elsewhere)
        await (self.app if elsewhere is None else elsewhere)(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body over {self.max_bytes} bytes"
        await graph_error(413, "Request_EntityTooLarge", message, scope=scope)(scope, receive, send)

    async def _late(self, scope: Scope, receive: Receive, send: Send) -> None:
        trail = trail_of(scope)
        if trail is not None:
            trail.deadline_passed = True
        message = f"no answer within {self.seconds:g}s; if this was a write, it may have taken effect"
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        await graph_error(503, "ServiceUnavailable", message, headers, scope=scope)(scope, receive, send)
