"""A minimal HTTP/1.1 keep-alive client: the load generator must cost far less than the server it loads.

One connection per generator task, requests in sequence on it; bodies by Content-Length
(what uvicorn sends for these endpoints). Any error drops the connection; the next request reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEADER_LINES = 100


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


class ProtocolError(Exception):
    pass


class Connection:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, target: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> Response:
        reader, writer = await self._open()
        try:
            writer.write(self._head(method, target, headers or {}, len(body)) + body)
            response = await self._read(reader)
        except BaseException:
            await self.close()
            raise
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        return self._streams

    def _head(self, method: str, target: str, headers: Mapping[str, str], length: int) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {length}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _read(self, reader: asyncio.StreamReader) -> Response:
        status_line = await reader.readline()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"not an HTTP/1.x response: {status_line[:80]!r}")
        headers = await _headers(reader)
        if "chunked" in headers.get("transfer-encoding", ""):
            raise ProtocolError("chunked responses are not supported")
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Response(int(parts[1]), headers, body)

    async def close(self) -> None:
        if self._streams is None:
            return
        writer = self._streams[1]
        self._streams = None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    raise ProtocolError("too many header lines")
