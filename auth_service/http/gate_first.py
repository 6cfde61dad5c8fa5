"""Who is calling, checked before what is asked, on every route that has a gate.

FastAPI reads and parses a route's body before it runs the route's dependencies, so an
anonymous write with a malformed body would answer 400; Graph answers 401. A router of
`GateFirst` routes runs each route's gate (its `CallerFor`, the operator credential, a
signed-in caller) before the handler FastAPI made reads anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from auth_service.http.deps import CallerFor, operator, signed_in


def is_gate(call: Callable[..., Any] | None) -> bool:
    return isinstance(call, CallerFor) or call is operator or call is signed_in


class GateFirst(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        gates = [d.call for d in self.dependant.dependencies if d.call is not None and is_gate(d.call)]
        if not gates:
            return handler

        async def gated(request: Request) -> Response:
            for gate in gates:
                checked = gate(request)
                if inspect.isawaitable(checked):
                    await checked
            return await handler(request)

        return gated
