"""Request ids as Microsoft Graph stamps them, so a failed call can be found in the logs.

Every answer carries `request-id` (new per request) and echoes the caller's
`client-request-id`; a Graph error body carries both, and the date, in `innerError`.
The ids live on the ASGI scope (`Trail`) for the error handlers, the log line and
the audit records' `correlationId`; a `$batch` sub-request gets a trail of its own.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.types import Scope

REQUEST_ID = "request-id"
CLIENT_REQUEST_ID = "client-request-id"
SCOPE_KEY = "corestore.trail"
# Graph asks for a GUID; any short visible-ASCII token is echoed, anything else refused.
CLIENT_ID_SHAPE = re.compile(rb"[\x21-\x7e]{1,128}")
UUID4_BITS = (0x4 << 76) | (0x2 << 62)  # the version nibble (4) and the variant bits (10)
UUID4_MASK = ((1 << 128) - 1) ^ ((0xF << 76) | (0x3 << 62))
CLIENT_ID_RULE = f"{CLIENT_REQUEST_ID}: 1 to 128 visible ASCII characters"


@dataclass
class Trail:
    """One request's ids, and what the request learns about itself on the way (for its log line)."""

    request_id: str
    client_request_id: str | None = None
    tenant_id: str | None = None
    client_app_id: str | None = None
    deadline_passed: bool = False

    @classmethod
    def new(cls, client_request_id: str | None = None) -> Trail:
        return cls(_random_id(), client_request_id)

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [(REQUEST_ID.encode(), self.request_id.encode())]
        if self.client_request_id is not None:
            out.append((CLIENT_REQUEST_ID.encode(), self.client_request_id.encode()))
        return out

    def inner_error(self) -> dict[str, Any]:
        """Graph's `innerError`: the ids, and the date in Graph's form (UTC, seconds, no zone)."""
        return {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            REQUEST_ID: self.request_id,
            CLIENT_REQUEST_ID: self.client_request_id,
        }


def _random_id() -> str:
    """A version-4 UUID's text, from `random`, not the OS: an id to find, not a secret; uuid4's
    system call and UUID object cost several times more on every request."""
    digits = f"{random.getrandbits(128) & UUID4_MASK | UUID4_BITS:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def error_body(code: str, message: str, trail: Trail | None) -> dict[str, Any]:
    """Graph's error shape; with `innerError` whenever the request has a trail."""
    error: dict[str, Any] = {"code": code, "message": message}
    if trail is not None:
        error["innerError"] = trail.inner_error()
    return {"error": error}


def trail_of(scope: Scope) -> Trail | None:
    found: Trail | None = scope.get(SCOPE_KEY)
    return found


def client_request_id(raw: bytes | None) -> str | None:
    """The caller's `client-request-id`, checked; ValueError when it is not one to echo."""
    if raw is None:
        return None
    if CLIENT_ID_SHAPE.fullmatch(raw) is None:
        raise ValueError(CLIENT_ID_RULE)
    return raw.decode("ascii")
