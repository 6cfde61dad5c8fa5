"""No request hangs: a handler that never answers gets 503 with Retry-After at its deadline."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from auth_service.http import http_errors
from auth_service.http.guard import Guard
from corestore.errors import CommitUncertain, Unavailable


async def _nowhere(tenant: str) -> None:
    return None


def _deadline(app: ASGIApp, seconds: float) -> Guard:
    return Guard(app, _nowhere, lambda geo: None, seconds=seconds)


async def _stuck(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(3600)


async def _slow_to_fail(scope: Scope, receive: Receive, send: Send) -> None:
    raise TimeoutError("the handler's own timeout, not the deadline")


async def test_a_stuck_request_answers_503_at_its_deadline() -> None:
    transport = httpx.ASGITransport(app=_deadline(_stuck, 0.05))
    async with httpx.AsyncClient(transport=transport, base_url="http://front") as client:
        answer = await client.post("/v1.0/users", json={})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "ServiceUnavailable"
    assert "may have taken effect" in answer.json()["error"]["message"]


async def test_a_handlers_own_timeout_is_not_taken_for_the_deadline() -> None:
    transport = httpx.ASGITransport(app=_deadline(_slow_to_fail, 60))
    async with httpx.AsyncClient(transport=transport, base_url="http://front") as client:
        with pytest.raises(TimeoutError, match="handler's own"):
            await client.get("/v1.0/me")


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (Unavailable("primary of emea-1 is unreachable; nothing was written"), "nothing was written"),
        (CommitUncertain("the commit on emea-1 did not complete in time; it may have committed"), "may have"),
    ],
)
async def test_a_write_without_its_commit_answers_503_saying_what_it_knows(
    error: Exception, says: str
) -> None:
    app = FastAPI()
    http_errors.install(app)

    @app.post("/v1.0/users")
    async def create() -> None:
        raise error

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://front") as client:
        answer = await client.post("/v1.0/users", json={})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert says in answer.json()["error"]["message"]
