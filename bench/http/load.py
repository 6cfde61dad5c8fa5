"""HTTP workloads as generator clients: one keep-alive connection per task, every answer checked.

`GetRow` serves both the front end (`http-read`) and the minimal ASGI baseline (`asgi-read`):
the same request, the same check; the baseline ignores the token.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from auth_service.http.deps import CONSISTENCY_HEADER
from bench.generator import Client
from bench.http.wire import Connection, Response
from devtools.client import user_body

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unexpected(response: Response) -> str:
    return f"http {response.status}"


class _Connections:
    """A connection per task, to one or more servers; `call` is the workload's request."""

    def __init__(
        self,
        urls: tuple[str, ...],
        tasks: int,
        call: Callable[[list[Connection], int], Awaitable[str | None]],
    ):
        self.per_task = [[Connection(url) for url in urls] for _ in range(tasks)]
        self._call = call

    async def call(self, task: int) -> str | None:
        return await self._call(self.per_task[task], task)

    async def close(self) -> None:
        for connections in self.per_task:
            for connection in connections:
                await connection.close()


@dataclass(frozen=True)
class GetRow:
    """GET one user by id; the answer must be that user."""

    url: str
    user_id: uuid.UUID
    tokens: tuple[str, ...]

    async def open(self, tasks: int) -> Client:
        path = f"/v1.0/users/{self.user_id}"
        expected = str(self.user_id).encode()
        headers = [bearer(t) for t in self.tokens]

        async def get(connections: list[Connection], task: int) -> str | None:
            response = await connections[0].request("GET", path, headers[task % len(headers)])
            ok = response.status == 200 and expected in response.body
            return None if ok else unexpected(response)

        return _Connections((self.url,), tasks, get)


@dataclass(frozen=True)
class Writers:
    """Who writes: a token and a verified domain per tenant (writes are throttled per tenant)."""

    tokens: tuple[str, ...]
    domains: tuple[str, ...]

    def new_user(self, task: int) -> tuple[dict[str, str], bytes, str]:
        i = task % len(self.tokens)
        name = f"bench-{uuid.uuid4().hex}"
        body = user_body(f"{name}@{self.domains[i]}", name)
        return {**bearer(self.tokens[i]), **JSON}, json.dumps(body).encode(), name


@dataclass(frozen=True)
class CreateUser:
    url: str
    writers: Writers

    async def open(self, tasks: int) -> Client:
        async def create(connections: list[Connection], task: int) -> str | None:
            headers, body, _ = self.writers.new_user(task)
            response = await connections[0].request("POST", "/v1.0/users", headers, body)
            return None if response.status == 201 else unexpected(response)

        return _Connections((self.url,), tasks, create)


@dataclass(frozen=True)
class WriteThenRead:
    """Create through one front end, read it back through another with the consistency header.

    A read that misses the new user counts as `stale`: read-your-writes must never give one.
    """

    write_url: str
    read_url: str
    writers: Writers

    async def open(self, tasks: int) -> Client:
        async def pair(connections: list[Connection], task: int) -> str | None:
            headers, body, name = self.writers.new_user(task)
            created = await connections[0].request("POST", "/v1.0/users", headers, body)
            if created.status != 201:
                return f"write {unexpected(created)}"
            user_id = json.loads(created.body)["id"]
            token = {
                "Authorization": headers["Authorization"],
                CONSISTENCY_HEADER: created.headers[CONSISTENCY_HEADER],
            }
            read = await connections[1].request("GET", f"/v1.0/users/{user_id}", token)
            if read.status == 404 or (read.status == 200 and name.encode() not in read.body):
                return "stale"
            return None if read.status == 200 else f"read {unexpected(read)}"

        return _Connections((self.write_url, self.read_url), tasks, pair)


@dataclass(frozen=True)
class IssueToken:
    """POST a token request (a grant's form); the answer must carry an access token."""

    url: str
    path: str
    forms: tuple[bytes, ...]

    async def open(self, tasks: int) -> Client:
        async def issue(connections: list[Connection], task: int) -> str | None:
            response = await connections[0].request(
                "POST", self.path, FORM, self.forms[task % len(self.forms)]
            )
            return (
                None if response.status == 200 and b"access_token" in response.body else unexpected(response)
            )

        return _Connections((self.url,), tasks, issue)
