"""Delta rounds over users and groups: what changed since a token, deletions included.

A trigger records, per object, the last writing transaction's id (xid8) and whether
the object is gone (migration directory_0005). A token is the `xmin` of the
snapshot that read a round's first page: transactions below it were all visible to
that round, those at or above it may not have been, so the next round asks for
changes at or above it. Transactions that commit out of order are therefore never
missed; some changes are sent twice, which Graph's delta allows. Each page is one
statement on a replica (the snapshot, not the xid, is what a read needs).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from corestore.directory.base import MAX_PAGE, ZERO, Repository
from corestore.errors import InvalidRequest
from corestore.objects import DirectoryObject
from corestore.read_functions import call

R = TypeVar("R", bound=DirectoryObject)
DELTA_KINDS = ("users", "groups")


@dataclass(frozen=True)
class Change(Generic[R]):
    """An object as it is now, or only its id when it is gone; `in_bin` when it is gone to
    deleted items (Graph's removed reason "changed") rather than for good ("deleted")."""

    id: uuid.UUID
    record: R | None
    in_bin: bool = False


@dataclass(frozen=True)
class DeltaPage(Generic[R]):
    changes: tuple[Change[R], ...]
    next_after: uuid.UUID | None  # more of this round after this id
    snapshot: int  # this read's snapshot xmin: the round's token if this was its first page
    epoch: int  # the tenant's placement epoch in the database that answered, read with the page


async def delta_page(
    repository: Repository[Any], since: int | None, after: uuid.UUID | None = None, top: int = 100
) -> DeltaPage[Any]:
    """One page of a round in id order: every object (`since` None, a first round) or those
    written at or after transaction `since`, the removed ones without a record."""
    kind = repository.kind()
    if kind not in DELTA_KINDS:
        raise InvalidRequest(f"no delta for {kind}")
    if not 1 <= top <= MAX_PAGE:
        raise InvalidRequest(f"page size must be between 1 and {MAX_PAGE}")
    handle = repository.handle
    page = f"SELECT p.*, ({call('tenant_epoch')}) AS epoch FROM ({call(f'{kind}_delta')}) p"  # noqa: S608
    rows = await handle.fetch(page, handle.tenant_id, after or ZERO, top + 1, since)
    *found, trailer = rows
    changes = tuple(
        Change(r["object_id"], None if r["obj"] is None else repository.to_record(r["obj"]), r["in_bin"])
        for r in found[:top]
    )
    return DeltaPage(
        changes, changes[-1].id if len(found) > top else None, trailer["snapshot_xmin"], trailer["epoch"]
    )
