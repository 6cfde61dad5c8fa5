"""One log line per request: readable, or JSON (`corestore serve --log-format json`) for a log
pipeline. Time, request ids, method, route template, status, duration, tenant, client app and
the server that answered; never a raw path, query, header or body, so no token, password,
secret or query literal can reach a log line (a test greps a run that used them all).

The request lines skip `logging`'s per-record machinery: a record object and a flush (a
write system call) per request cost ~30 us of the ~300 us a read takes. They are formatted
in batches: a finished request is queued, and 100 ms after the first one queued (or once 512
are) the queue becomes lines, written to the file with one system call; at exit too. Other
lines (warnings, errors) go through `logging`, to the same file in the same format.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import msgspec

from auth_service.http.request_ids import Trail

FLUSH_S = 0.1
MAX_PENDING = 512  # a flush's batch: ~0.5 ms of the loop's time
ENCODER = msgspec.json.Encoder()


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


# A finished request, as its line is made from it: when, its trail, method, route, status, seconds, server.
Done = tuple[float, Trail | None, str, str, int, float, str | None]


class RequestLog:
    def __init__(self, path: Path, log_format: LogFormat) -> None:
        self.json = log_format is LogFormat.JSON
        self._file: IO[str] = path.open("a", buffering=64 * 1024, encoding="utf-8")
        self._pending: list[Done] = []
        self._flush: asyncio.TimerHandle | None = None
        self._millisecond = 0
        self._stamp = ""

    def write(
        self,
        trail: Trail | None,
        method: str,
        route: str,
        status: int,
        seconds: float,
        server: str | None,
    ) -> None:
        """Queue the request's line: lines are made at the flush, in one batch (made as each
        request ended, a line cost a read ~3 us, over twice what it costs in a batch)."""
        self._pending.append((time.time(), trail, method, route, status, seconds, server))
        if len(self._pending) >= MAX_PENDING:
            self.flush()
        elif self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_S, self._due)

    def _due(self) -> None:
        self._flush = None
        self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        line = self._json if self.json else self._text
        self._file.write("".join([line(done) for done in pending]))
        self._file.flush()

    def _json(self, done: Done) -> str:
        at, trail, method, route, status, seconds, server = done
        fields = {
            "time": self._time(at),
            "level": "info",
            "logger": "corestore.access",
            "request_id": trail and trail.request_id,
            "client_request_id": trail and trail.client_request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "tenant_id": trail and trail.tenant_id,
            "client_app_id": trail and trail.client_app_id,
            "server": server,
        }
        return ENCODER.encode(fields).decode() + "\n"

    def _text(self, done: Done) -> str:
        """The JSON line's fields in its order, each only when known."""
        at, trail, method, route, status, seconds, server = done
        line = f"{self._time(at)} INFO corestore.access {method} {route} {status}"
        if trail is not None:
            line += f" request_id={trail.request_id}"
            if trail.client_request_id is not None:
                line += f" client_request_id={trail.client_request_id}"
        line += f" method={method} route={route} status={status} duration_ms={round(seconds * 1000, 2)}"
        if trail is not None:
            if trail.tenant_id is not None:
                line += f" tenant_id={trail.tenant_id}"
            if trail.client_app_id is not None:
                line += f" client_app_id={trail.client_app_id}"
        if server is not None:
            line += f" server={server}"
        return line + "\n"

    def _time(self, at: float) -> str:
        """`at` in milliseconds, formatted once per millisecond (several requests share one)."""
        millisecond = int(at * 1000)
        if millisecond != self._millisecond:
            self._millisecond = millisecond
            self._stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        return self._stamp


_sink: RequestLog | None = None


def request_done(
    trail: Trail | None, method: str, route: str, status: int, seconds: float, server: str | None
) -> None:
    """The request's line, on the file within `FLUSH_S`."""
    if _sink is not None:
        _sink.write(trail, method, route, status, seconds, server)


class JsonFormatter(logging.Formatter):
    """Every other line as one JSON object too: time (UTC), level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))


def configure(path: Path, log_format: LogFormat) -> None:
    """Request lines and warnings to `path`; warnings and errors to stderr too (a line per
    request there would drown them)."""
    global _sink
    path.parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [logging.StreamHandler(), logging.FileHandler(path)]
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    for handler in handlers:
        handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else text)
    logging.basicConfig(level=logging.WARNING, handlers=handlers, force=True)
    _sink = RequestLog(path, log_format)
    atexit.register(_sink.flush)
