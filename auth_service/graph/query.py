"""Graph's query options on a read: each one checked, and any other refused (400), never ignored.

`$count` and `$search` are Graph's "advanced queries" on directory objects: Graph answers
them only with the header `ConsistencyLevel: eventual`, and so do we, with its message.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from auth_service.errors import BadRequest
from auth_service.graph.odata import parse_skiptoken
from auth_service.graph.shapes import Shape
from auth_service.http.lean import QueryParam
from corestore.directory.base import BY_ID, MAX_PAGE, Order
from corestore.filters import MAX_LENGTH as MAX_FILTER
from corestore.search import MAX_LENGTH as MAX_SEARCH

TOP = QueryParam("$top", minimum=1, maximum=MAX_PAGE, default=100)
FILTER = QueryParam("$filter", max_length=MAX_FILTER)
SKIP = QueryParam("$skiptoken", max_length=512)
COUNT = QueryParam("$count", choices=("true", "false"))
SEARCH = QueryParam("$search", max_length=MAX_SEARCH)
COUNTING = (FILTER, SEARCH)
EVENTUAL = "eventual"
COUNT_NEEDS_EVENTUAL = "$count is not currently supported without the header 'ConsistencyLevel: eventual'."
SEARCH_NEEDS_EVENTUAL = (
    "Request with $search query parameter only works through MSGraph with a special request header:"
    " 'ConsistencyLevel: eventual'"
)


def refuse_unknown(request: Request, allowed: tuple[QueryParam, ...]) -> None:
    """A 400 for any query option the route does not serve (`$expand`, `$skip`, `$format`, ...)."""
    if not request.scope["query_string"]:
        return
    names = {q.name for q in allowed}
    for name in request.query_params:
        if name not in names:
            raise BadRequest(f"Query option '{name}' is not supported on this resource.")


def eventual(request: Request) -> bool:
    """Whether the request asked for eventual consistency (the one level that header takes)."""
    value = request.headers.get("consistencylevel")
    if value is not None and value != EVENTUAL:
        raise BadRequest(f"ConsistencyLevel: the one level is '{EVENTUAL}'")
    return value is not None


def consistency_header(required: bool) -> dict[str, Any]:
    """The header, as the document shows it."""
    return {"name": "ConsistencyLevel", "in": "header", "required": required, "schema": {"enum": [EVENTUAL]}}


def one_of(names: Iterable[str]) -> str:
    return "(" + "|".join(sorted(set(names))) + ")"


def select_param(*shapes: Shape, extra: tuple[str, ...] = ()) -> QueryParam:
    """`$select` over the properties of `shapes` (a relation lists several kinds) and `extra` ones:
    its pattern is the check, so the document says exactly what is accepted."""
    name = one_of([*(n for shape in shapes for n in shape.shows), *extra])
    return QueryParam("$select", max_length=1024, pattern=f"^{name}(,{name})*$")


def order_param(orderable: Iterable[str]) -> QueryParam:
    return QueryParam("$orderby", max_length=128, pattern=f"^{one_of(['id', *orderable])}( (asc|desc))?$")


def selection(request: Request, select: QueryParam) -> tuple[str, ...] | None:
    """`$select`'s Graph names, as `select_param` checked them."""
    text = select.read(request)
    return None if text is None else tuple(text.split(","))


def search(request: Request) -> str | None:
    text: str | None = SEARCH.read(request)
    if text is not None and not eventual(request):
        raise BadRequest(SEARCH_NEEDS_EVENTUAL)
    return text


@dataclass(frozen=True)
class ListQuery:
    """A kind's list options: `$select` and `$orderby` name its own properties."""

    select: QueryParam
    orderby: QueryParam

    @property
    def params(self) -> tuple[QueryParam, ...]:
        return (TOP, FILTER, self.select, SKIP, self.orderby, COUNT, SEARCH)


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
    def read(cls, request: Request, query: ListQuery) -> ListOptions:
        refuse_unknown(request, query.params)
        asked = eventual(request)
        order_text = query.orderby.read(request) or "id"
        attribute, _, direction = order_text.partition(" ")
        order = Order(attribute, direction == "desc") if order_text != "id" else BY_ID
        count = COUNT.read(request) == "true"
        if count and not asked:
            raise BadRequest(COUNT_NEEDS_EVENTUAL)
        token = SKIP.read(request)
        after_key, after = parse_skiptoken(token, order_text) if token is not None else (None, None)
        return cls(
            TOP.read(request),
            FILTER.read(request),
            search(request),
            selection(request, query.select),
            order,
            order_text,
            after_key,
            after,
            count,
        )
