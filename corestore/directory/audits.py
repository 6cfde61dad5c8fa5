"""Directory audit records: read newest first, one statement, every condition a bound value.

The records are written by the database itself, a trigger in each change's transaction
(migration directory_0008); here they are read, and purged by retention (`corestore.retention`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from corestore.errors import InvalidRequest, NotFound
from corestore.handle import TenantHandle
from corestore.objects import DirectoryAudit, Page, field_names
from corestore.read_functions import call
from corestore.validation import parse_id

MAX_PAGE = 999


@dataclass(frozen=True)
class AuditQuery:
    """What Graph's `$filter` on directoryAudits may ask; None is no condition."""

    since: datetime | None = None
    until: datetime | None = None
    activity: str | None = None
    activity_prefix: str | None = None
    category: str | None = None
    user_id: str | None = None
    app_id: str | None = None
    target_id: str | None = None


class DirectoryAudits:
    def __init__(self, handle: TenantHandle) -> None:
        self.handle = handle

    async def list(
        self,
        query: AuditQuery = AuditQuery(),
        top: int = 100,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> Page[DirectoryAudit]:
        """A page, newest first; `after` is the (time, id) of the previous page's last record."""
        if not 0 < top <= MAX_PAGE:
            raise InvalidRequest(f"top must be between 1 and {MAX_PAGE}")
        rows = await self._query(None, query, top + 1, after)
        items = rows[:top]
        if len(rows) <= top:
            return Page(items, None)
        return Page(items, items[-1].id, items[-1].activity_at.isoformat())

    async def get(self, audit_id: str) -> DirectoryAudit:
        found = await self._query(parse_id(audit_id), AuditQuery(), 1, None)
        if not found:
            raise NotFound(f"no directory audit {audit_id}")
        return found[0]

    async def _query(
        self,
        audit_id: uuid.UUID | None,
        q: AuditQuery,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
    ) -> tuple[DirectoryAudit, ...]:
        after_at, after_id = after if after is not None else (None, None)
        rows = await self.handle.fetch(
            call("directory_audits_query"),
            self.handle.tenant_id,
            audit_id,
            q.since,
            q.until,
            q.activity,
            q.activity_prefix,
            q.category,
            q.user_id,
            q.app_id,
            q.target_id,
            after_at,
            after_id,
            limit,
        )
        names = field_names(DirectoryAudit)
        return tuple(DirectoryAudit(**{n: r[n] for n in names}) for r in rows)
