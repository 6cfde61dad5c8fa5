"""The hot requests without a framework in the way: a pure-ASGI entry in front of FastAPI.

A `LeanRoute` (the reads, `/me`, the token endpoint) takes the request alone and answers a
`Response`, so FastAPI's per-request machinery (its middleware stack and telemetry, the match
over every included router, the exit stacks) does nothing for it but cost time. `HotPaths`
finds the route by method, then path segments, calls the same endpoint, and answers an error
with the app's own handler for its class, as Starlette's exception layer would; an error
without one propagates to `Observe`, as it would from FastAPI. Every other request, and every
path an earlier route claims, goes to FastAPI unchanged; FastAPI still documents every route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from auth_service.http.lean import Endpoint, LeanRoute

Handler = Callable[[Request, Any], Response | Awaitable[Response]]
# Starlette gives these to its server-error layer, not to the exception layer a route runs in.
SERVER_ERROR_KEYS = (500, Exception)
PARAM = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class Candidate:
    """A route as segments: a literal, or a pattern holding its parameters."""

    segments: tuple[str | re.Pattern[str], ...]
    route: BaseRoute
    endpoint: Endpoint | None  # None: FastAPI answers it

    def params(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters if `parts` matches (a parameter is non-empty and holds no `/`)."""
        found: dict[str, str] = {}
        for want, part in zip(self.segments, parts, strict=True):
            if isinstance(want, str):
                if want != part:
                    return None
                continue
            match = want.fullmatch(part)
            if match is None:
                return None
            found.update(match.groupdict())
        return found


def candidate(path: str, route: BaseRoute, endpoint: Endpoint | None) -> Candidate:
    """`path`'s segments; a parameter matches what Starlette's `[^/]+` would."""
    segments: list[str | re.Pattern[str]] = []
    for part in path[1:].split("/"):
        pieces = PARAM.split(part)  # literals at even places, parameter names at odd ones
        if any(":" in name for name in pieces[1::2]):
            raise ValueError(f"{path}: a parameter with a convertor cannot be matched by segments")
        if len(pieces) == 1:
            segments.append(part)
            continue
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(pieces))
        segments.append(re.compile(regex))
    return Candidate(tuple(segments), route, endpoint)


class HotPaths:
    def __init__(self, api: FastAPI) -> None:
        self.api = api
        # (method, segment count) -> the routes FastAPI would try, in its order
        self.table: dict[tuple[str, int], list[Candidate]] = {}
        for context in iter_route_contexts(api.routes):
            route, path = context.original_route, context.path
            if path is None:
                raise ValueError(f"{route!r}: a route without a path cannot be matched by segments")
            lean = route.endpoint if isinstance(route, LeanRoute) else None
            found = candidate(path, route, lean)
            for method in context.methods or ():
                self.table.setdefault((method, len(found.segments)), []).append(found)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            parts = scope["path"][1:].split("/")
            for option in self.table.get((scope["method"], len(parts)), ()):
                params = option.params(parts)
                if params is None:
                    continue
                if option.endpoint is not None:
                    await self._serve(option, params, scope, receive, send)
                    return
                break
        await self.api(scope, receive, send)

    async def _serve(
        self, option: Candidate, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        assert option.endpoint is not None
        scope["app"] = self.api
        scope["route"] = option.route
        scope["endpoint"] = option.endpoint
        scope["path_params"] = params
        request = Request(scope, receive, send)
        try:
            response = await option.endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The app's handler for `exc`, looked up as Starlette's exception layer looks it up."""
        handlers = self.api.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            found: Handler = handlers[exc.status_code]
            return found
        for kind in type(exc).__mro__:
            if kind in handlers and kind not in SERVER_ERROR_KEYS:
                found = handlers[kind]
                return found
        return None
