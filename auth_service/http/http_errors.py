"""Every error becomes Graph's shape, `{"error": {"code", "message", "innerError"}}`: one handler
per class (`innerError` holds the request ids and the date, as Graph writes them).

Starlette looks a handler up along the exception's class hierarchy, so the most
specific entry of `STATUS` answers, and a new subclass inherits its parent's answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from auth_service import errors as front
from auth_service.http.allow import allowed_methods
from auth_service.http.request_ids import error_body, trail_of
from auth_service.http.throttle import Throttled
from corestore import errors as core

RETRY_AFTER_S = 1  # a scale unit without a reachable primary: failover takes about this long
STATUS: dict[type[Exception], tuple[int, str]] = {
    core.NotFound: (404, "Request_ResourceNotFound"),
    core.Conflict: (409, "Request_MultipleObjectsWithSameKeyValue"),
    core.KeyTaken: (400, "Request_BadRequest"),
    core.PreconditionFailed: (412, "Request_PreconditionFailed"),
    core.LocationImmutable: (400, "Request_BadRequest"),
    core.InvalidRequest: (400, "Request_BadRequest"),
    core.NoCapacity: (503, "ServiceUnavailable"),
    core.Unavailable: (503, "ServiceUnavailable"),
    front.AuthError: (401, "InvalidAuthenticationToken"),
    front.Forbidden: (403, "Authorization_RequestDenied"),
    front.SyncStateNotFound: (400, "syncStateNotFound"),
    front.BadRequest: (400, "Request_BadRequest"),
    front.ServedElsewhere: (421, "Request_MisdirectedRequest"),
}
HEADERS: dict[int, dict[str, str]] = {
    401: {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    503: {"Retry-After": str(RETRY_AFTER_S)},
}
Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def graph_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, *, scope: Scope
) -> JSONResponse:
    body = error_body(code, message, trail_of(scope))
    return JSONResponse(body, status_code=status, headers=headers)


def _answer(status: int, code: str) -> Handler:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return graph_error(status, code, str(exc), HEADERS.get(status), scope=request.scope)

    return handler


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A store error with no status of its own: nothing of its text leaves the server."""
    return graph_error(500, "InternalServerError", "unexpected error", scope=request.scope)


async def _throttled(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Throttled)
    retry = max(1, round(exc.retry_after + 0.5))
    return graph_error(429, "TooManyRequests", str(exc), {"Retry-After": str(retry)}, scope=request.scope)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
    return graph_error(400, "Request_BadRequest", problems or "invalid request", scope=request.scope)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {404: "Request_ResourceNotFound", 405: "Request_BadRequest", 413: "Request_EntityTooLarge"}
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return graph_error(
        exc.status_code,
        codes.get(exc.status_code, "Request_BadRequest"),
        str(exc.detail),
        headers,
        scope=request.scope,
    )


def install(app: FastAPI) -> None:
    for kind, (status, code) in STATUS.items():
        app.add_exception_handler(kind, _answer(status, code))
    app.add_exception_handler(core.CoreStoreError, _unexpected)
    # Any other crash: Starlette's server-error layer answers with this and re-raises for the
    # log (its own answer would be a bare text 500, which `Guard`, outside the app, passes on).
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(Throttled, _throttled)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
