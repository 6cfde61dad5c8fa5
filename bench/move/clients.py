"""The clients of a move: writers and readers over HTTP, through the cluster's front ends.

Each call is recorded with its start, its end and its outcome (the timeline the figures and
the plot read); a writer's 201 goes to the journal, which is checked against the database
after each move. Every client paces itself so that the machine is not saturated by the load
itself: the neighbour's read p99 must measure the move, not the clients.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

from bench.http.load import JSON, bearer
from bench.http.wire import Connection, ProtocolError
from devtools.client import user_body

REQUEST_TIMEOUT_S = 30.0  # past the front end's own deadline: its 503 comes first
WRITE_PAUSE_S = 0.02
READ_PAUSE_S = 0.01


@dataclass(frozen=True)
class Call:
    tenant: str  # "moving" or "neighbour"
    kind: str  # "write" or "read"
    started: float  # monotonic
    ended: float
    status: int  # 0: no answer (a dropped connection or the client's timeout)
    retry_after: bool  # a 503 with Retry-After: the request's deadline passed

    @property
    def ok(self) -> bool:
        return self.status == (201 if self.kind == "write" else 200)


@dataclass
class Timeline:
    """Every call of the run, and the journal of acknowledged writes (user id, when)."""

    calls: list[Call] = field(default_factory=list)
    journal: dict[str, list[tuple[uuid.UUID, float]]] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class Target:
    """A tenant the clients work on: its role, its administrator's token and its domain."""

    role: str
    token: str
    domain: str


async def _call(
    connection: Connection, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bool, bytes]:
    try:
        response = await asyncio.wait_for(connection.request(method, path, headers, body), REQUEST_TIMEOUT_S)
    except (OSError, TimeoutError, ProtocolError, asyncio.IncompleteReadError):
        return 0, False, b""
    return response.status, "retry-after" in response.headers, response.body


async def write(url: str, target: Target, timeline: Timeline, writer: int) -> None:
    journal = timeline.journal.setdefault(target.role, [])
    headers = {**bearer(target.token), **JSON}
    connection = Connection(url)
    try:
        for n in range(10**9):
            if timeline.stop.is_set():
                return
            upn = f"bench-w{writer}-{n}-{uuid.uuid4().hex[:8]}@{target.domain}"
            body = json.dumps(user_body(upn, "bench-writer")).encode()
            started = time.monotonic()
            status, retry, answer = await _call(connection, "POST", "/v1.0/users", headers, body)
            ended = time.monotonic()
            timeline.calls.append(Call(target.role, "write", started, ended, status, retry))
            if status == 201:
                journal.append((uuid.UUID(json.loads(answer)["id"]), ended))
            await asyncio.sleep(WRITE_PAUSE_S)
    finally:
        await connection.close()


async def read(url: str, target: Target, timeline: Timeline) -> None:
    headers = bearer(target.token)
    connection = Connection(url)
    try:
        while not timeline.stop.is_set():
            started = time.monotonic()
            status, retry, _ = await _call(connection, "GET", "/v1.0/users?$top=5", headers, b"")
            timeline.calls.append(Call(target.role, "read", started, time.monotonic(), status, retry))
            await asyncio.sleep(READ_PAUSE_S)
    finally:
        await connection.close()
