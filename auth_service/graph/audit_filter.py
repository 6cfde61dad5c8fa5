"""`$filter` on directoryAudits: the conditions Graph documents for audit logs, joined by `and`.

Graph serves a fixed set of forms here rather than the directory objects' grammar:
`activityDateTime ge|le <date-time>`, `activityDisplayName eq '...'`,
`startswith(activityDisplayName, '...')`, `category eq '...'`, `initiatedBy/user/id eq '...'`,
`initiatedBy/app/appId eq '...'` and `targetResources/any(t: t/id eq '...')`. Anything
else is a 400 naming the first part not understood; each value reaches the store as
bound text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from auth_service.errors import BadRequest
from corestore.directory.audits import AuditQuery

MAX_LENGTH = 1024
QUOTED = r"'((?:[^']|'')*)'"
TERMS: dict[str, re.Pattern[str]] = {
    "since": re.compile(r"activityDateTime\s+ge\s+(\S+)", re.IGNORECASE),
    "until": re.compile(r"activityDateTime\s+le\s+(\S+)", re.IGNORECASE),
    "activity": re.compile(rf"activityDisplayName\s+eq\s+{QUOTED}", re.IGNORECASE),
    "activity_prefix": re.compile(rf"startswith\(\s*activityDisplayName\s*,\s*{QUOTED}\s*\)", re.IGNORECASE),
    "category": re.compile(rf"category\s+eq\s+{QUOTED}", re.IGNORECASE),
    "user_id": re.compile(rf"initiatedBy/user/id\s+eq\s+{QUOTED}", re.IGNORECASE),
    "app_id": re.compile(rf"initiatedBy/app/appId\s+eq\s+{QUOTED}", re.IGNORECASE),
    "target_id": re.compile(
        rf"targetResources/any\((\w+)\s*:\s*(\w+)/id\s+eq\s+{QUOTED}\s*\)", re.IGNORECASE
    ),
}
AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def parse_audit_filter(text: str | None) -> AuditQuery:
    query = AuditQuery()
    if text is None:
        return query
    if len(text) > MAX_LENGTH:
        raise BadRequest(f"$filter: at most {MAX_LENGTH} characters")
    position, rest = 0, text.strip()
    while True:
        field, value, position = _term(rest, position)
        if getattr(query, field) is not None:
            raise BadRequest(f"$filter: {field} is given twice")
        query = replace(query, **{field: value})
        if position == len(rest):
            return query
        joined = AND.match(rest, position)
        if joined is None:
            raise BadRequest(f"$filter: expected 'and' at {rest[position : position + 20]!r}")
        position = joined.end()


def _term(text: str, position: int) -> tuple[str, Any, int]:
    for field, pattern in TERMS.items():
        found = pattern.match(text, position)
        if found is None:
            continue
        if field == "target_id" and found.group(1) != found.group(2):
            raise BadRequest(f"$filter: the lambda variable is {found.group(1)!r}, not {found.group(2)!r}")
        raw = found.groups()[-1]
        value: Any = raw.replace("''", "'")
        if field in ("since", "until"):
            value = _instant(raw)
        return field, value, found.end()
    raise BadRequest(
        f"$filter: not a condition served on directoryAudits at {text[position : position + 30]!r}"
    )


def _instant(raw: str) -> datetime:
    try:
        found = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"$filter: {raw!r} is not a date-time") from None
    if found.tzinfo is None:
        raise BadRequest(f"$filter: {raw!r} has no time zone (Graph's are UTC, ending in Z)")
    return found
