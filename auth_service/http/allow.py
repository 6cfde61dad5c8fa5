"""A 405's `Allow` names every method of the path, not only the first route's.

Starlette answers a method mismatch from the first route whose path matches, so a
path served by several routes (`GET /v1.0/users` and `POST /v1.0/users` are two)
would list one method; RFC 9110 section 15.5.6 asks for all of them. Only the most
literal paths that match count: `/v1.0/users/delta` is a resource of its own (GET), though
`/v1.0/users/{object_id}` (GET, PATCH, DELETE) matches it too.
"""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.routing import compile_path


def allowed_methods(request: Request) -> str:
    """The methods of every route whose path matches the request's, sorted, as `Allow` lists them."""
    by_parameters: dict[int, set[str]] = {}
    for route in iter_route_contexts(request.app.routes):
        if route.methods and route.path and compile_path(route.path)[0].match(request.url.path):
            by_parameters.setdefault(route.path.count("{"), set()).update(route.methods)
    return ", ".join(sorted(by_parameters[min(by_parameters)])) if by_parameters else ""
