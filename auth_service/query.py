"""Graph's query options on a read: each one checked, and any other refused (400), never ignored.

`$count` and `$search` are Graph's "advanced queries" on directory objects: Graph answers
them only with the header `ConsistencyLevel: eventual`, and so do we, with its message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import Request

from auth_service.errors import BadRequest
from auth_service.graph import parse_skiptoken
from auth_service.lean import QueryParam
from auth_service.shapes import Shape
from corestore.directory.base import BY_ID, MAX_PAGE, Order
from corestore.filters import MAX_LENGTH as MAX_FILTER
from corestore.search import MAX_LENGTH as MAX_SEARCH

TOP = QueryParam("$top", minimum=1, maximum=MAX_PAGE, default=100)
FILTER = QueryParam("$filter", max_length=MAX_FILTER)
SELECT = QueryParam("$select", max_length=1024)
SKIP = QueryParam("$skiptoken", max_length=512)
ORDERBY = QueryParam("$orderby", max_length=128, pattern=r"^[A-Za-z]+( (asc|desc))?$")
COUNT = QueryParam("$count", choices=("true", "false"))
SEARCH = QueryParam("$search", max_length=MAX_SEARCH)
LIST = (TOP, FILTER, SELECT, SKIP, ORDERBY, COUNT, SEARCH)
COUNTING = (FILTER, SEARCH)
EVENTUAL = "eventual"
COUNT_NEEDS_EVENTUAL = "$count is not currently supported without the header 'ConsistencyLevel: eventual'."
SEARCH_NEEDS_EVENTUAL = (
    "Request with $search query parameter only works through MSGraph with a special request header:"
    " 'ConsistencyLevel: eventual'"
)


def refuse_unknown(request: Request, allowed: tuple[QueryParam, ...]) -> None:
    """A 400 for any query option the route does not serve (`$expand`, `$skip`, `$format`, ...)."""
    names = {q.name for q in allowed}
    for name in request.query_params:
        if name not in names:
            raise BadRequest(f"Query option '{name}' is not supported on this resource.")


def eventual(request: Request) -> bool:
    return request.headers.get("consistencylevel", "").strip().lower() == EVENTUAL


def selection(request: Request, *shapes: Shape) -> tuple[str, ...] | None:
    """`$select`'s Graph names, each a property of one of `shapes` (a relation lists several kinds)."""
    text = SELECT.read(request)
    if text is None:
        return None
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if not any(s in shape.shows for shape in shapes)]
    if unknown:
        raise BadRequest(f"$select: unknown property {', '.join(unknown)}")
    return chosen


def search(request: Request) -> str | None:
    text: str | None = SEARCH.read(request)
    if text is not None and not eventual(request):
        raise BadRequest(SEARCH_NEEDS_EVENTUAL)
    return text


@dataclass(frozen=True)
class ListOptions:
    """A list request's options, checked: what the repository's `list` takes."""

    top: int
    filter: str | None
    search: str | None
    select: tuple[str, ...] | None
    order: Order
    order_text: str
    after_key: str | None
    after: uuid.UUID | None
    count: bool

    @classmethod
    def read(cls, request: Request, shape: Shape) -> ListOptions:
        refuse_unknown(request, LIST)
        order_text = ORDERBY.read(request) or "id"
        attribute, _, direction = order_text.partition(" ")
        order = Order(attribute, direction == "desc") if order_text != "id" else BY_ID
        count = COUNT.read(request) == "true"
        if count and not eventual(request):
            raise BadRequest(COUNT_NEEDS_EVENTUAL)
        token = SKIP.read(request)
        after_key, after = parse_skiptoken(token, order_text) if token is not None else (None, None)
        return cls(
            TOP.read(request),
            FILTER.read(request),
            search(request),
            selection(request, shape),
            order,
            order_text,
            after_key,
            after,
            count,
        )
