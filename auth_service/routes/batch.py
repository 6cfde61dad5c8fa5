"""JSON batching (`POST /v1.0/$batch`): up to 20 Graph requests in one, as Graph takes them.

Each request runs through this same application in-process (a direct ASGI call: the
whole middleware stack and error mapping, without a socket or an HTTP client; measured
on a bare FastAPI route, 92 us a request against 419 us through httpx.ASGITransport), with
the batch's Authorization. Requests run as soon as those they depend on (`dependsOn`)
have answered, the independent ones concurrently; a request whose dependency failed
is not run and answers 424, as in Graph. A batch that cannot be planned (more than
20 requests, a repeated or unknown id, a cycle) is refused whole with 400 before
anything runs. Each request after a write carries the batch's newest commit position
(`x-corestore-consistency`), so a dependant reads what its dependency wrote. Each answer
has its own `request-id`, as in Graph (one that never ran gets a new one here).
"""

from __future__ import annotations

import asyncio
import json
import logging
from graphlib import CycleError, TopologicalSorter
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Message, Scope

from auth_service.errors import BadRequest
from auth_service.graph.odata import VERSION
from auth_service.http.deps import CONSISTENCY_HEADER, signed_in
from auth_service.http.gate_first import GateFirst
from auth_service.http.lean import json_response
from auth_service.http.request_ids import REQUEST_ID, Trail, error_body
from corestore.types import CommitPosition

router = APIRouter(prefix=VERSION, route_class=GateFirst)
MAX_REQUESTS = 20
FAILED_DEPENDENCY = 424
SERVER_ERROR = "the request failed; nothing is known of its effect"
log = logging.getLogger(__name__)
# Hop-by-hop and framing headers stay with the batch itself.
DROPPED = frozenset({b"content-length", b"host", b"transfer-encoding", b"connection"})


class BatchRequest(BaseModel):
    # `depends_on` is how msgraph-core's BatchRequestContent spells Graph's `dependsOn`.
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
    url: str = Field(min_length=1, max_length=2048)
    headers: dict[str, str] | None = Field(default=None, max_length=32)
    body: dict[str, Any] | list[Any] | str | None = None
    depends: list[str] | None = Field(default=None, alias="dependsOn", max_length=MAX_REQUESTS)
    depends_on: list[str] | None = Field(default=None, max_length=MAX_REQUESTS)

    @property
    def dependencies(self) -> list[str]:
        return [*(self.depends or ()), *(self.depends_on or ())]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[BatchRequest] = Field(min_length=1)


def plan(batch: Batch) -> dict[str, tuple[str, ...]]:
    """Each request's dependencies, once checked: the whole batch is refused or none of it."""
    if len(batch.requests) > MAX_REQUESTS:
        raise BadRequest(f"a batch holds at most {MAX_REQUESTS} requests, not {len(batch.requests)}")
    graph: dict[str, tuple[str, ...]] = {}
    for item in batch.requests:
        if item.id in graph:
            raise BadRequest(f"request id {item.id!r} appears more than once")
        graph[item.id] = tuple(dict.fromkeys(item.dependencies))
        target(item.url)
    for item_id, needs in graph.items():
        unknown = [n for n in needs if n not in graph]
        if unknown:
            raise BadRequest(f"request {item_id!r} depends on unknown id(s) {', '.join(unknown)}")
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        raise BadRequest(f"dependsOn has a cycle: {' -> '.join(exc.args[1])}") from None
    return graph


def target(url: str) -> tuple[str, str]:
    """The path (under /v1.0) and query a request's url names; relative (`/users`, `users`),
    with the version (`/v1.0/users`) or absolute, as msgraph-core sends it."""
    parts = urlsplit(url)
    path = unquote(parts.path if parts.path.startswith("/") else "/" + parts.path)
    if path == VERSION or path.startswith(VERSION + "/"):
        path = path[len(VERSION) :]
    if not path.strip("/") or path.rstrip("/").endswith("/$batch") or "/../" in path + "/":
        raise BadRequest(f"not a request a batch can hold: {url!r}")
    return VERSION + path, parts.query


class Runner:
    """Runs a planned batch's requests against the app, in dependency order."""

    def __init__(
        self, request: Request, items: list[BatchRequest], graph: dict[str, tuple[str, ...]]
    ) -> None:
        self.scope = request.scope
        self.app = request.app.state.entry  # the whole front end: every layer, its hot paths too
        self.items = {item.id: item for item in items}
        self.graph = graph
        self.answers: dict[str, dict[str, Any]] = {}
        self.consistency = request.headers.get(CONSISTENCY_HEADER)
        self.authorization = request.headers["authorization"]

    async def run(self) -> list[dict[str, Any]]:
        sorter = TopologicalSorter(self.graph)
        sorter.prepare()
        while sorter.is_active():
            ready = sorter.get_ready()
            await asyncio.gather(*(self._answer(item_id) for item_id in ready))
            sorter.done(*ready)
        return [self.answers[item_id] for item_id in self.items]

    async def _answer(self, item_id: str) -> None:
        failed = [d for d in self.graph[item_id] if not 200 <= self.answers[d]["status"] < 300]
        if failed:
            message = f"depends on request(s) {', '.join(failed)}, which failed"
            self.answers[item_id] = _unanswered(item_id, FAILED_DEPENDENCY, "FailedDependency", message)
            return
        self.answers[item_id] = await self._call(self.items[item_id])

    async def _call(self, item: BatchRequest) -> dict[str, Any]:
        path, query = target(item.url)
        body = b"" if item.body is None else json.dumps(item.body).encode()
        headers = {k.lower(): v for k, v in (item.headers or {}).items()}
        headers["authorization"] = self.authorization
        if body and "content-type" not in headers:
            headers["content-type"] = "application/json"
        if self.consistency is not None and CONSISTENCY_HEADER not in headers:
            headers[CONSISTENCY_HEADER] = self.consistency
        headers["content-length"] = str(len(body))
        scope: Scope = {
            **{
                k: self.scope[k]
                for k in ("type", "asgi", "http_version", "scheme", "server", "client", "root_path")
            },
            "method": item.method,
            "path": path,
            "raw_path": quote(path).encode(),
            "query_string": query.encode(),
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "state": dict(self.scope.get("state", {})),
        }
        sent: list[Message] = []
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        try:
            await self.app(scope, receive, send)
        except Exception:
            # `Guard` has answered 500 and re-raises for the server's log.
            log.exception("batch request %s failed", item.id)
            if not any(m["type"] == "http.response.start" for m in sent):
                return _unanswered(item.id, 500, "InternalServerError", SERVER_ERROR)
        return self._response(item.id, sent)

    def _response(self, item_id: str, sent: list[Message]) -> dict[str, Any]:
        start = next(m for m in sent if m["type"] == "http.response.start")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"] if k not in DROPPED}
        raw = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        if CONSISTENCY_HEADER in headers:
            self.consistency = _newest(self.consistency, headers[CONSISTENCY_HEADER])
        answer: dict[str, Any] = {"id": item_id, "status": start["status"], "headers": headers}
        if raw:
            answer["body"] = json.loads(raw) if "json" in headers.get("content-type", "") else raw.decode()
        return answer


def _unanswered(item_id: str, status: int, code: str, message: str) -> dict[str, Any]:
    """The answer of a request the application did not answer itself, with ids of its own."""
    trail = Trail.new()
    body = error_body(code, message, trail)
    return {"id": item_id, "status": status, "headers": {REQUEST_ID: trail.request_id}, "body": body}


def _newest(held: str | None, answered: str) -> str:
    """The later of two commit positions (requests answer in any order; a dependant must see the
    newest write). A tenant's positions are all of its one scale unit."""
    if held is None:
        return answered
    try:
        held_lsn = CommitPosition.parse(held).lsn
    except ValueError:  # the caller's own header, malformed: a position this API made replaces it
        return answered
    return held if held_lsn >= CommitPosition.parse(answered).lsn else answered


@router.post("/$batch", name="batch", dependencies=[Depends(signed_in)])
async def batch(request: Request, body: Batch) -> Response:
    """Runs the batch's requests; each answers for itself (the batch is 200 once planned); a bad
    token runs nothing."""
    graph = plan(body)
    responses = await Runner(request, body.requests, graph).run()
    return json_response({"responses": responses})
