"""One log line per request: readable, or JSON (`corestore serve --log-format json`) for a log
pipeline. Time, request ids, method, route template, status, duration, tenant, client app and
the server that answered; never a raw path, query, header or body, so no token, password,
secret or query literal can reach a log line (a test greps a run that used them all)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from auth_service.http.request_ids import Trail

LOGGER = logging.getLogger("corestore.access")
FIELDS = "fields"  # the `extra` key a structured line's fields travel under


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def request_done(
    trail: Trail | None, method: str, route: str, status: int, seconds: float, server: str | None
) -> None:
    if not LOGGER.isEnabledFor(logging.INFO):
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
    LOGGER.info("%s %s %d", method, route, status, extra={FIELDS: fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and a request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, FIELDS, {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """The readable form: the message, then a request's fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, FIELDS, None)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return line


def configure(handlers: list[logging.Handler], log_format: LogFormat) -> None:
    """Every line in one format; request lines at INFO, everything else from WARNING."""
    formatter = JsonFormatter() if log_format is LogFormat.JSON else TextFormatter()
    for handler in handlers:
        handler.setFormatter(formatter)
    logging.basicConfig(level=logging.WARNING, handlers=handlers, force=True)
    LOGGER.setLevel(logging.INFO)
