"""The hot requests without a framework in the way: a pure-ASGI entry in front of FastAPI.

A `LeanRoute` (the reads, `/me`, the token endpoint) takes the request alone and answers a
`Response`, so FastAPI's per-request machinery (its middleware stack and telemetry, the match
over every included router, the exit stacks) does nothing for it but cost time. `HotPaths`
finds the route by method, then path (one compiled pattern per method), calls the same
endpoint, and answers an error with the app's own handler for its class, as Starlette's
exception layer would; an error without one propagates to `Guard`, as it would from
FastAPI. `Guard` asks `find`, calls the endpoint and sends its answer in its own frame, so
a hot request nests no call between the server's and the endpoint's but `Guard`. Every other
request, and every path an earlier route claims, goes to FastAPI unchanged; FastAPI still
documents every route.
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
    """A route, and the groups of its method's pattern that hold its path parameters."""

    route: BaseRoute
    endpoint: Endpoint | None  # None: FastAPI answers it
    params: tuple[tuple[str, str], ...]  # (group, parameter name)


def pattern(path: str, index: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    """`path` as a regex whose groups are named for the route's place; a parameter matches
    what Starlette's `[^/]+` would."""
    pieces = PARAM.split(path)  # literals at even places, parameter names at odd ones
    if any(":" in name for name in pieces[1::2]):
        raise ValueError(f"{path}: a parameter with a convertor cannot be matched here")
    groups = tuple((f"p{index}_{n}", name) for n, name in enumerate(pieces[1::2]))
    names = iter(g for g, _ in groups)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{next(names)}>[^/]+)" for i, p in enumerate(pieces))
    return f"(?P<r{index}>{regex})", groups


class HotPaths:
    def __init__(self, api: FastAPI) -> None:
        self.api = api
        # Per method, every route FastAPI would try, in its order, as one alternation: the
        # first alternative that matches is the route FastAPI would choose.
        candidates: dict[str, list[Candidate]] = {}
        regexes: dict[str, list[str]] = {}
        for context in iter_route_contexts(api.routes):
            route, path = context.original_route, context.path
            if path is None:
                raise ValueError(f"{route!r}: a route without a path cannot be matched here")
            lean = route.endpoint if isinstance(route, LeanRoute) else None
            for method in context.methods or ():
                found = candidates.setdefault(method, [])
                regex, groups = pattern(path, len(found))
                found.append(Candidate(route, lean, groups))
                regexes.setdefault(method, []).append(regex)
        self.candidates = candidates
        self.patterns = {method: re.compile("|".join(r)) for method, r in regexes.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.find(scope)
        if endpoint is None:
            await self.api(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            response = await self.recover(request, exc)
        await response(scope, receive, send)

    def find(self, scope: Scope) -> Endpoint | None:
        """The lean endpoint that answers this request, with the scope made ready for it as
        FastAPI's router would; None: FastAPI answers it."""
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        method = scope["method"]
        routes = self.patterns.get(method)
        match = None if routes is None else routes.fullmatch(scope["path"])
        if match is None or match.lastgroup is None:
            return None
        option = self.candidates[method][int(match.lastgroup[1:])]
        endpoint = option.endpoint
        if endpoint is not None:
            scope["app"] = self.api
            scope["route"] = option.route
            scope["endpoint"] = endpoint
            scope["path_params"] = {name: match.group(group) for group, name in option.params}
        return endpoint

    async def recover(self, request: Request, exc: Exception) -> Response:
        """An endpoint's error answered by the app's handler for it; `exc` again if it has none.
        Called from the `except` that caught it."""
        handler = self._handler(exc)
        if handler is None:
            raise exc
        answer = handler(request, exc)
        return await answer if isawaitable(answer) else answer

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
