"""The OpenAPI document, with every error status a route can answer declared, who may call
each operation (`security`), and links from each create to its object's operations.

Most errors do not come from a route's own code but from what every request passes
through: the token check (401, 403), the geo fence (307 to the tenant's geo, 421), the
throttle (429), the body limit (413), the deadline and an unreachable scale unit (503),
the store (404, 409, 412). So they are declared here, once, by the kind of route,
rather than on each route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from auth_service.graph.bodies import BODY_KEY
from auth_service.graph.odata import VERSION
from auth_service.http.openapi_links import add_links

GRAPH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "innerError": {
                    "type": "object",
                    "properties": {
                        "date": {"type": "string"},
                        "request-id": {"type": "string"},
                        "client-request-id": {"type": ["string", "null"]},
                    },
                },
            },
        }
    },
}
DESCRIPTIONS = {
    307: "the tenant lives in another geo: its front end answers (method and body kept)",
    400: "a request this API refuses, saying why",
    401: "no valid bearer token, or client authentication failed",
    403: "the token lacks the permission the operation needs",
    404: "no such object, tenant or route",
    405: "not a method of this path (Allow lists those that are)",
    409: "an object with the same key exists",
    412: "If-Match names another version",
    413: "the request body is over 1 MiB",
    421: "a tenant of another geo: this front end processes none of it",
    429: "throttled; Retry-After says when to try again",
    503: "the tenant's scale unit cannot answer now, or the request's deadline passed; Retry-After",
}
# Who may call: a Graph token (delegated or an application's) for Graph and userinfo, the operator
# credential (cluster.json) for /operator/...; nobody needs one for discovery, JWKS, sign-in and
# token (a client authenticates in the token request's own form or Basic header, RFC 6749).
SECURITY_SCHEMES = {
    "graphToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "operatorKey": {"type": "http", "scheme": "bearer", "description": "the operator credential"},
}
EVERYWHERE = (400, 404, 503)
GRAPH = (400, 401, 403, 404, 421, 429, 503)
GRAPH_WRITES = {"post": (409, 413), "patch": (409, 412, 413), "delete": (412,)}
TENANT_PATH = (307, 421)  # /{tenant}/...: the geo fence
OPERATOR = (401, 413)


def statuses(path: str, method: str) -> tuple[int, ...]:
    if path.startswith(VERSION + "/"):
        return GRAPH + GRAPH_WRITES.get(method, ())
    found: tuple[int, ...] = EVERYWHERE
    if path.startswith("/{tenant}/"):
        found += (*TENANT_PATH, 401, 429)
    if path.startswith("/operator/"):
        found += OPERATOR
    if path.startswith("/oidc/"):
        found += (401, 421, 429)
    return found + ((413,) if method in ("post", "patch", "put") else ())


def security(path: str) -> list[dict[str, list[str]]]:
    if path.startswith((VERSION + "/", "/oidc/userinfo")):
        return [{"graphToken": []}]
    if path.startswith("/operator/"):
        return [{"operatorKey": []}]
    return []


def _error(path: str, status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": DESCRIPTIONS[status]}
    if path.startswith(VERSION + "/") and status not in (307,):
        answer["content"] = {"application/json": {"schema": GRAPH_ERROR}}
    return answer


def install(app: FastAPI) -> None:
    """`app.openapi` builds FastAPI's document once, then declares each operation's error statuses."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            for path, operations in schema["paths"].items():
                for method, operation in operations.items():
                    body = operation.pop(BODY_KEY, None)
                    if body is not None:
                        operation["requestBody"]["content"]["application/json"]["schema"] = body
                    responses = operation.setdefault("responses", {})
                    responses.pop("422", None)  # FastAPI's validation errors are our 400
                    for status in statuses(path, method):
                        responses.setdefault(str(status), _error(path, status))
                    operation["security"] = security(path)
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            add_links(schema["paths"])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
