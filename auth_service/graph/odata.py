"""Graph's JSON shapes: each kind's properties (see `shapes`), `@odata` annotations, skip tokens."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from typing import Any

from auth_service.errors import BadRequest
from auth_service.graph.shapes import SHAPES, Shape
from corestore.objects import DirectoryObject


def shape_of(record: object) -> Shape:
    return SHAPES[type(record)]


def to_graph(record: object, select: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A record in Graph's shape, for the JSON encoder (msgspec); `select` holds Graph names,
    checked by the caller (`id` always comes along, and a name of another kind in a mixed list
    is simply absent)."""
    shape = shape_of(record)
    out: dict[str, Any] = {"@odata.type": shape.odata_type}
    for key, show in shape.shows.items():
        if select is None or key in select or key == "id":
            out[key] = show(record)
    return out


# Graph's version prefix: every Graph route is under it, every `@odata.context` names it.
VERSION = "/v1.0"


def context(base: str, collection: str, select: tuple[str, ...] | None, entity: bool = False) -> str:
    """`@odata.context` as Graph writes it: `$metadata#users`, `#users(id,displayName)`,
    `#users/$entity` for one object."""
    projection = f"({','.join(select)})" if select else ""
    return f"{base.rstrip('/')}{VERSION}/$metadata#{collection}{projection}{'/$entity' if entity else ''}"


def etag(record: DirectoryObject) -> str:
    return f'W/"{record.version}"'


ETAG = r'^(\*|(W/)?"[0-9]{1,9}")$'  # If-Match: any version, or one this API returned


def parse_etag(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(ETAG, value.strip())
    if match is None:
        raise BadRequest("If-Match must be an ETag this API returned")
    return None if match.group(1) == "*" else int(match.group(1).removeprefix("W/").strip('"'))


def skiptoken(order: str, key: object, after: uuid.UUID) -> str:
    """An opaque position: the list's order, the last item's sort key (text) and its id."""
    text = key.isoformat() if hasattr(key, "isoformat") else None if key is None else str(key)
    raw = json.dumps([order, text, str(after)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_skiptoken(token: str, order: str) -> tuple[str | None, uuid.UUID]:
    """The sort key and id of a token this API returned for the same `$orderby`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        found, key, after = json.loads(raw)
        if found != order or not (key is None or isinstance(key, str)) or not isinstance(after, str):
            raise ValueError(order)
        return key, uuid.UUID(after)
    except (ValueError, TypeError, binascii.Error):
        raise BadRequest("$skiptoken is not one this API returned for this $orderby") from None
