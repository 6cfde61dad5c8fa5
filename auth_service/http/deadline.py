"""Every request has a deadline: past it the client gets 503 with Retry-After, never a hang.

The store bounds its own waits (a write's statements, its commit, each read); this
is the backstop for everything else. A request cut off here may have written, so
the answer says so rather than claiming it failed.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_service.http.http_errors import RETRY_AFTER_S, graph_error
from auth_service.http.request_ids import trail_of

REQUEST_DEADLINE_S = 15.0


class Deadline:
    def __init__(self, app: ASGIApp, seconds: float = REQUEST_DEADLINE_S) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.seconds) as deadline:
                await self.app(scope, receive, tracking)
        except TimeoutError:
            if not deadline.expired() or started:
                raise
            trail = trail_of(scope)
            if trail is not None:
                trail.deadline_passed = True
            message = f"no answer within {self.seconds:g}s; if this was a write, it may have taken effect"
            response = graph_error(
                503, "ServiceUnavailable", message, {"Retry-After": str(RETRY_AFTER_S)}, scope=scope
            )
            await response(scope, receive, send)
