"""Asking Patroni's members who leads: a member that answers anything but its description,
or does not answer, is left out; the others are read, asynchronously or not."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from scale_units.leaders import MAX_ANSWER_BYTES, member_views, member_views_now

pytestmark = pytest.mark.unit
PRIMARY = {
    "state": "running",
    "role": "primary",
    "timeline": 3,
    "replication": [
        {"application_name": "r1", "state": "streaming", "sync_state": "quorum"},
        {"application_name": "r2", "state": "streaming", "sync_state": "async"},
    ],
}


@asynccontextmanager
async def member(answer: bytes) -> AsyncIterator[str]:
    """A loopback server that answers every request with `answer` and closes, as Patroni does."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"


def http(body: bytes) -> bytes:
    return b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body


async def test_a_member_is_read_and_the_rest_left_out() -> None:
    async with (
        member(http(json.dumps(PRIMARY).encode())) as good,
        member(http(b"[1, 2]")) as not_a_description,
        member(b"garbage") as not_http,
        member(http(b"x" * MAX_ANSWER_BYTES)) as too_long,
    ):
        apis = {"p": good, "a": not_a_description, "b": not_http, "c": too_long, "gone": "127.0.0.1:1"}
        views = await member_views(apis)
        assert await asyncio.to_thread(member_views_now, apis) == views  # off the loop the members run on
    assert list(views) == ["p"]
    view = views["p"]
    assert view.leads
    assert view.timeline == 3
    assert view.quorum == ("r1",)
    assert view.replicas == ("r1", "r2")
