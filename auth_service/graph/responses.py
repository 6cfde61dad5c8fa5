"""Graph's JSON answers: one object with its `@odata.context`, a page with its next link, and
the headers every answer of a caller carries (where it was served, its commit position)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from auth_service.graph.odata import context, shape_of, skiptoken, to_graph
from auth_service.http.deps import Caller
from auth_service.http.lean import json_response
from corestore.objects import Page


def respond(who: Caller, payload: dict[str, Any], status: int = 200, tag: str | None = None) -> Response:
    headers = who.headers()
    if tag is not None:
        headers["ETag"] = tag
    return json_response(payload, status, headers)


def entity(request: Request, record: Any, select: tuple[str, ...] | None = None) -> dict[str, Any]:
    """One object, with Graph's `@odata.context` for it."""
    collection = shape_of(record).collection
    return {
        "@odata.context": context(str(request.base_url), collection, select, True),
        **to_graph(record, select),
    }


def page_payload(
    request: Request,
    collection: str,
    page: Page[Any],
    select: tuple[str, ...] | None,
    order: str = "id",
) -> dict[str, Any]:
    payload: dict[str, Any] = {"@odata.context": context(str(request.base_url), collection, select)}
    if page.total is not None:
        payload["@odata.count"] = page.total
    payload["value"] = [to_graph(o, select) for o in page.items]
    if page.next_after is not None:
        token = skiptoken(order, page.next_key if order != "id" else None, page.next_after)
        url = request.url.remove_query_params("$skiptoken").include_query_params(**{"$skiptoken": token})
        payload["@odata.nextLink"] = str(url)
    return payload
