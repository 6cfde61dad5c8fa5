"""`Guard` sends a hot route's answer itself: whatever the endpoint answers (a plain answer, one
with a background task, an error the app has a handler for, an error it has none for), the
client gets what FastAPI alone would have sent, with the request's ids."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from starlette.background import BackgroundTask
from starlette.types import ASGIApp

from auth_service.errors import BadRequest
from auth_service.http import http_errors
from auth_service.http.guard import Guard
from auth_service.http.hot import HotPaths
from auth_service.http.lean import json_response, read_route

pytestmark = pytest.mark.unit


async def _nowhere(tenant: str) -> None:
    return None


def _apps(done: list[str]) -> tuple[ASGIApp, ASGIApp]:
    """The same routes behind `Guard` with `HotPaths` (hot) and with FastAPI alone (cold)."""

    async def plain(request: Request) -> Response:
        return json_response({"id": request.path_params["object_id"]}, headers={"ETag": 'W/"1"'})

    async def later(request: Request) -> Response:
        return Response("ok", background=BackgroundTask(done.append, "ran"))

    async def refused(request: Request) -> Response:
        raise BadRequest("not like this")

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    router = APIRouter()
    read_route("/things/{object_id}", plain, "plain", on=router)
    read_route("/later", later, "later", on=router)
    read_route("/refused", refused, "refused", on=router)
    read_route("/broken", broken, "broken", on=router)
    api = FastAPI()
    http_errors.install(api)
    api.include_router(router)
    return Guard(HotPaths(api), _nowhere, lambda geo: None), Guard(api, _nowhere, lambda geo: None)


async def _get(app: ASGIApp, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://front") as client:
        return await client.get(path, headers={"client-request-id": "mine"})


def _shown(answer: httpx.Response) -> tuple[int, list[tuple[str, str]], str]:
    headers = [(k, v) for k, v in answer.headers.multi_items() if k != "request-id"]
    return answer.status_code, headers, answer.text.replace(answer.headers["request-id"], "")


@pytest.mark.parametrize("path", ["/things/a1", "/later", "/refused", "/broken"])
async def test_a_hot_answer_is_sent_as_fastapi_would_send_it(path: str) -> None:
    done: list[str] = []
    hot, cold = _apps(done)
    hot_answer, cold_answer = await _get(hot, path), await _get(cold, path)
    assert _shown(hot_answer) == _shown(cold_answer)
    assert hot_answer.headers["request-id"] != cold_answer.headers["request-id"]
    assert hot_answer.headers["client-request-id"] == "mine"
    if path == "/later":
        assert done == ["ran", "ran"]  # the background task ran on both paths
    if path == "/broken":
        assert hot_answer.status_code == 500
        assert hot_answer.json()["error"]["innerError"]["request-id"] == hot_answer.headers["request-id"]
