"""One log line per request: readable, or JSON (`corestore serve --log-format json`) for a log
pipeline. Time, request ids, method, route template, status, duration, tenant, client app and
the server that answered; never a raw path, query, header or body, so no token, password,
secret or query literal can reach a log line (a test greps a run that used them all).

The request lines skip `logging`'s per-record machinery: a record object and a flush (a
write system call) per request cost ~30 us of the ~300 us a read takes. They are formatted
once and written to a buffered file, flushed when no other request is in flight or 100 ms
after the last flush, and at exit; other lines (warnings, errors) go through `logging`, to
the same file in the same format.
"""

from __future__ import annotations

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
ENCODER = msgspec.json.Encoder()


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class RequestLog:
    def __init__(self, path: Path, log_format: LogFormat) -> None:
        self.json = log_format is LogFormat.JSON
        self._file: IO[str] = path.open("a", buffering=64 * 1024, encoding="utf-8")
        self._flushed = time.monotonic()
        self._millisecond = 0
        self._stamp = ""

    def write(self, fields: dict[str, Any], idle: bool) -> None:
        now = self._now()
        if self.json:
            line = ENCODER.encode({"time": now, "level": "info", "logger": "corestore.access", **fields})
            self._file.write(line.decode() + "\n")
        else:
            head = f"{now} INFO corestore.access {fields['method']} {fields['route']} {fields['status']}"
            tail = [f" {k}={v}" for k, v in fields.items() if v is not None]
            self._file.write(head + "".join(tail) + "\n")
        if idle or time.monotonic() - self._flushed > FLUSH_S:
            self.flush()

    def _now(self) -> str:
        """The time in milliseconds, formatted once per millisecond (several requests share one)."""
        now = time.time()
        millisecond = int(now * 1000)
        if millisecond != self._millisecond:
            self._millisecond = millisecond
            self._stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        return self._stamp

    def flush(self) -> None:
        self._file.flush()
        self._flushed = time.monotonic()


_sink: RequestLog | None = None


def request_done(
    trail: Trail | None, method: str, route: str, status: int, seconds: float, server: str | None, idle: bool
) -> None:
    """The request's line; `idle`: no other request is in flight, so nothing waits to share a flush."""
    if _sink is None:
        return
    fields = {
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
    _sink.write(fields, idle)


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
