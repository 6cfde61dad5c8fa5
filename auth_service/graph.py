"""Graph's JSON shapes: camelCase names, `@odata` annotations, opaque skip tokens."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any

from auth_service.errors import BadRequest
from corestore.objects import Application, Device, DirectoryObject, Group, ServicePrincipal, SignIn, User

ODATA_TYPES: dict[type, str] = {
    User: "#microsoft.graph.user",
    Group: "#microsoft.graph.group",
    Application: "#microsoft.graph.application",
    ServicePrincipal: "#microsoft.graph.servicePrincipal",
    Device: "#microsoft.graph.device",
    SignIn: "#microsoft.graph.signIn",
}
RENAMES = {"kind": "groupKind", "result": "status", "principal": "userPrincipalName"}
HIDDEN = frozenset({"version"})


def camel(name: str) -> str:
    name = RENAMES.get(name, name)
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


@cache
def _shape(kind: type) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A record type's `@odata.type` and its (attribute, Graph name) pairs, worked out once per type."""
    pairs = tuple((f.name, camel(f.name)) for f in fields(kind) if f.name not in HIDDEN)
    return ODATA_TYPES.get(kind, "#microsoft.graph.directoryObject"), pairs


def to_graph(record: object, select: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A record in Graph's shape; `select` holds Graph (camelCase) names."""
    odata_type, pairs = _shape(type(record))  # type: ignore[arg-type]
    if select is not None:
        known = {key for _, key in pairs}
        unknown = [s for s in select if s not in known]
        if unknown:
            raise BadRequest(f"$select: unknown attribute(s) {', '.join(unknown)}")
        pairs = tuple((name, key) for name, key in pairs if key in select or key == "id")
    out: dict[str, Any] = {"@odata.type": odata_type}
    for name, key in pairs:
        out[key] = _json(getattr(record, name))
    if isinstance(record, Group) and select is None:
        out["securityEnabled"] = record.kind == "security"
    return out


def etag(record: DirectoryObject) -> str:
    return f'W/"{record.version}"'


def parse_etag(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = re.fullmatch(r'\s*(?:W/)?"(\d{1,18})"\s*', value)
    if match is None:
        raise BadRequest("If-Match must be an ETag this API returned")
    return int(match.group(1))


def from_graph(body: Mapping[str, Any], allowed: Mapping[str, str]) -> dict[str, Any]:
    """A request body's Graph names mapped to the store's; unknown names refused."""
    unknown = sorted(k for k in body if k not in allowed and not k.startswith("@odata"))
    if unknown:
        raise BadRequest(f"unknown or read-only property: {', '.join(unknown)}")
    return {allowed[k]: v for k, v in body.items() if k in allowed}


def skiptoken(after: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(after.bytes).decode().rstrip("=")


def parse_skiptoken(token: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError):
        raise BadRequest("$skiptoken is not one this API returned") from None
