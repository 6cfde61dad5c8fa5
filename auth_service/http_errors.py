"""Every error becomes Graph's shape, `{"error": {"code", "message"}}`, mapped here once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from auth_service.errors import AuthError, Forbidden, InvalidToken
from auth_service.throttle import Throttled
from corestore import errors as core

# Each class's status and Graph error code; Starlette picks the handler of the nearest class in an
# exception's MRO, so a subclass's entry wins over its base's.
STATUS: list[tuple[type[Exception], int, str]] = [
    (core.TenantNotFound, 404, "Request_ResourceNotFound"),
    (core.NotFound, 404, "Request_ResourceNotFound"),
    (core.Conflict, 409, "Request_MultipleObjectsWithSameKeyValue"),
    (core.PreconditionFailed, 412, "Request_PreconditionFailed"),
    (core.LocationImmutable, 400, "Request_BadRequest"),
    (core.InvalidRequest, 400, "Request_BadRequest"),
    (core.NoCapacity, 503, "ServiceUnavailable"),
    (core.Unavailable, 503, "ServiceUnavailable"),
    (InvalidToken, 401, "InvalidAuthenticationToken"),
    (Forbidden, 403, "Authorization_RequestDenied"),
    (AuthError, 401, "InvalidAuthenticationToken"),
]


def graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _known(status: int, code: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return graph_error(status, code, str(exc), headers)

    return handler


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A store error with no status of its own: nothing of its text leaves the server."""
    return graph_error(500, "InternalServerError", "unexpected error")


async def _throttled(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Throttled)
    retry = max(1, round(exc.retry_after + 0.5))
    return graph_error(429, "TooManyRequests", str(exc), {"Retry-After": str(retry)})


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
    return graph_error(400, "Request_BadRequest", problems or "invalid request")


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {404: "Request_ResourceNotFound", 405: "Request_BadRequest", 413: "Request_EntityTooLarge"}
    return graph_error(exc.status_code, codes.get(exc.status_code, "Request_BadRequest"), str(exc.detail))


def install(app: FastAPI) -> None:
    for kind, status, code in STATUS:
        app.add_exception_handler(kind, _known(status, code))
    app.add_exception_handler(core.CoreStoreError, _unexpected)
    app.add_exception_handler(Throttled, _throttled)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
