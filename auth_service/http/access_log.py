"""One log line per request: readable, or JSON (`corestore serve --log-format json`) for a log
pipeline. Time, request ids, method, route template, status, duration, tenant, client app and
the server that answered; never a raw path, query, header or body, so no token, password,
secret or query literal can reach a log line (a test greps a run that used them all).

The request lines skip `logging`'s per-record machinery: a record object and a flush (a
write system call) per request cost ~30 us of the ~300 us a read takes. They are formatted
in batches: a finished request is queued, and 100 ms after the first one queued (or once
`MAX_PENDING` are) the queue becomes lines, written to the file with one system call; at exit
too. Other lines (warnings, errors) go through `logging`, to the same file in the same format,
at once: a warning may come before the lines of requests that ended just before it (the request
id ties a line to its request, as it ties a traceback).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import math
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, NamedTuple

import msgspec

from auth_service.http.request_ids import Trail

FLUSH_S = 0.1
# A flush holds the event loop. Timed in a front end serving ~9k reads/s: at 512 lines, ~3.8 us a
# line, so every request in flight waited ~2 ms (up to 5.4 ms) every 55 ms; at 64, ~3.1 us a line
# (the requests queued are still in the caches) and ~0.2 ms a flush.
MAX_PENDING = 64
ENCODER = msgspec.json.Encoder()


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Done(NamedTuple):
    """A finished request, as its line is made from it."""

    at: float  # time.time() when it ended
    trail: Trail | None
    method: str
    route: str
    status: int
    seconds: float
    server: str | None

    def fields(self) -> dict[str, Any]:
        """The line's fields, in order (the text line skips those not known)."""
        trail = self.trail
        return {
            "request_id": trail and trail.request_id,
            "client_request_id": trail and trail.client_request_id,
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "duration_ms": round(self.seconds * 1000, 2),
            "tenant_id": trail and trail.tenant_id,
            "client_app_id": trail and trail.client_app_id,
            "server": self.server,
        }


class RequestLog:
    def __init__(self, path: Path, log_format: LogFormat) -> None:
        self.json = log_format is LogFormat.JSON
        self._file: IO[str] = path.open("a", buffering=64 * 1024, encoding="utf-8")
        self._pending: list[Done] = []
        self._timer_loop: asyncio.AbstractEventLoop | None = None  # the loop a flush is due on
        self._second: int | None = None
        self._day_and_time = ""

    def write(self, done: Done) -> None:
        """Queue the request's line: lines are made at the flush, in one batch (made as each
        request ended, lines cost a read ~3 us more in the in-process driver)."""
        self._pending.append(done)
        if len(self._pending) >= MAX_PENDING:
            self.flush()
            return
        loop = asyncio.get_running_loop()
        if self._timer_loop is not loop:  # none due on this loop (its timer's loop may be gone)
            self._timer_loop = loop
            loop.call_later(FLUSH_S, self._due)

    def _due(self) -> None:
        self._timer_loop = None
        self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        line = self._json if self.json else self._text
        self._file.write("".join([line(done) for done in pending]))
        self._file.flush()

    def _json(self, done: Done) -> str:
        head = {"time": self._time(done.at), "level": "info", "logger": "corestore.access"}
        return ENCODER.encode(head | done.fields()).decode() + "\n"

    def _text(self, done: Done) -> str:
        head = f"{self._time(done.at)} INFO corestore.access {done.method} {done.route} {done.status}"
        tail = [f" {k}={v}" for k, v in done.fields().items() if v is not None]
        return head + "".join(tail) + "\n"

    def _time(self, at: float) -> str:
        """`at` as `isoformat(timespec="milliseconds")` writes it in UTC (rounded to the microsecond
        as `fromtimestamp` rounds it, then cut to the millisecond); the date and time of day are
        made once a second (a busy front end answers thousands of requests a second)."""
        second = math.floor(at)
        microsecond = round((at - second) * 1_000_000)
        second, microsecond = second + microsecond // 1_000_000, microsecond % 1_000_000
        if second != self._second:
            self._second = second
            self._day_and_time = datetime.fromtimestamp(second, UTC).replace(tzinfo=None).isoformat()
        return f"{self._day_and_time}.{microsecond // 1000:03d}+00:00"


_sink: RequestLog | None = None


def request_done(
    trail: Trail | None, method: str, route: str, status: int, seconds: float, server: str | None
) -> None:
    """The request's line, on the file within `FLUSH_S`."""
    if _sink is not None:
        _sink.write(Done(time.time(), trail, method, route, status, seconds, server))


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
