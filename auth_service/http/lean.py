"""Lean routes (the reads and the token endpoint): what a request costs beyond the ASGI
baseline is our own work, nothing more.

FastAPI still routes them and documents them, but `LeanRoute` calls the endpoint with
the request alone: no dependency solving, no parameter models per request. Each
endpoint reads its parameters through `QueryParam`, the one table that both checks a
request and describes it in the OpenAPI document, and answers with JSON encoded once
by msgspec (`json_response`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.types import Scope

from corestore.errors import InvalidRequest

ENCODER = msgspec.json.Encoder()
JSON = "application/json"
CONTENT_TYPE = (b"content-type", JSON.encode())

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class QueryParam:
    """A query parameter: how it is checked, and how the document shows it."""

    name: str
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    default: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] | None = None

    def read(self, request: Request) -> Any:
        # Most reads have no query: Starlette would still parse one per request.
        raw = request.query_params.get(self.name) if request.scope["query_string"] else None
        if raw is None:
            return self.default
        if self.minimum is None:
            if self.max_length is not None and len(raw) > self.max_length:
                raise InvalidRequest(f"{self.name}: at most {self.max_length} characters")
            if self.pattern is not None and not re.search(self.pattern, raw):
                raise InvalidRequest(f"{self.name}: not of the form {self.pattern}")
            if self.choices is not None and raw not in self.choices:
                raise InvalidRequest(f"{self.name}: one of {', '.join(self.choices)}")
            return raw
        value = int(raw) if raw.isdigit() and len(raw) <= 9 else None
        if value is None or value < self.minimum or (self.maximum is not None and value > self.maximum):
            raise InvalidRequest(f"{self.name}: an integer from {self.minimum} to {self.maximum}")
        return value

    def schema(self) -> dict[str, Any]:
        if self.minimum is not None:
            bounds = {"minimum": self.minimum, "maximum": self.maximum, "default": self.default}
            return {"type": "integer", **{k: v for k, v in bounds.items() if v is not None}}
        if self.choices is not None:
            return {"type": "string", "enum": list(self.choices)}
        schema: dict[str, Any] = {"type": "string"}
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        return schema


def documented(
    path: tuple[str, ...], query: tuple[QueryParam, ...], headers: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    """`openapi_extra` for a read route: its path, query and header parameters."""
    parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in path]
    parameters += [{"name": q.name, "in": "query", "required": False, "schema": q.schema()} for q in query]
    return {"parameters": parameters + list(headers)}


class LeanRoute(APIRoute):
    """Documented from `openapi_extra`; handled by calling the endpoint with the request."""

    def get_route_handler(self) -> Endpoint:
        endpoint: Endpoint = self.endpoint
        return endpoint


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lower case, as ASGI gives names), read off the scope:
    building Starlette's `Headers` and asking it for an absent one cost ~1.5 us a request."""
    for key, value in scope["headers"]:
        if key == name:
            found: bytes = value
            return found
    return None


class JsonAnswer(Response):
    """JSON encoded once, with its headers as Starlette's `Response` would make them, minus its
    generic work per answer (rendering the content, searching the headers for content ones)."""

    media_type = JSON

    def __init__(self, payload: Any, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """`headers` as ASGI sends them (lower-case names, bytes)."""
        self.status_code = status
        self.background = None
        self.body = body = ENCODER.encode(payload)
        self.raw_headers = [*headers, (b"content-length", str(len(body)).encode()), CONTENT_TYPE]


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    raw = (
        []
        if headers is None
        else [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    )
    return JsonAnswer(payload, status, raw)


PLAIN_COUNT = {
    "responses": {
        "200": {
            "description": "how many",
            "content": {"text/plain": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}},
        }
    }
}


def read_route(
    path: str,
    endpoint: Callable[[Request], Awaitable[Response]],
    name: str,
    *query: QueryParam,
    on: APIRouter,
    headers: tuple[dict[str, Any], ...] = (),
    text: bool = False,
) -> None:
    """A GET route handled by `LeanRoute`, documented with its path and query parameters."""
    params = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
    on.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=name,
        route_class_override=LeanRoute,
        openapi_extra=documented(params, query, headers) | (PLAIN_COUNT if text else {}),
    )
