"""The directory objects callers get back: frozen records, never ORM rows."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Generic, TypeVar


@dataclass(frozen=True)
class DirectoryObject:
    id: uuid.UUID
    display_name: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class User(DirectoryObject):
    user_principal_name: str
    mail: str | None
    mail_nickname: str | None
    account_enabled: bool
    admin: bool
    extension: Mapping[str, Any]
    sign_in_sessions_valid_from: datetime | None = None  # Graph's signInSessionsValidFromDateTime


@dataclass(frozen=True)
class Group(DirectoryObject):
    kind: str
    mail_nickname: str
    description: str | None


@dataclass(frozen=True)
class KeyCredential:
    """An application's certificate as Graph lists it: its thumbprint (SHA-1) and validity."""

    id: uuid.UUID
    display_name: str
    thumbprint: bytes
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True)
class Application(DirectoryObject):
    app_id: uuid.UUID
    # Not a column: its rows in redirect_uris, platform -> URIs (see corestore.directory.grants).
    redirect_uris: Mapping[str, tuple[str, ...]] = field(default_factory=dict, metadata={"column": False})
    # Not a column either: its certificates (corestore.directory.key_credentials), without their DER.
    key_credentials: tuple[KeyCredential, ...] = field(default=(), metadata={"column": False})


@dataclass(frozen=True)
class ServicePrincipal(DirectoryObject):
    app_id: uuid.UUID
    account_enabled: bool


@dataclass(frozen=True)
class Device(DirectoryObject):
    device_id: uuid.UUID
    operating_system: str
    operating_system_version: str | None
    account_enabled: bool
    trust_type: str
    owner_id: uuid.UUID | None


@dataclass(frozen=True)
class Organization:
    """The tenant as Graph's /organization shows it; its domains come from the catalog."""

    id: uuid.UUID
    display_name: str
    country: str
    created_at: datetime
    domains: tuple[str, ...]


@dataclass(frozen=True)
class ClientSecret:
    """A new client secret: `secret_text` is shown this once and never stored."""

    id: uuid.UUID
    application_id: uuid.UUID
    hint: str
    expires_at: datetime
    secret_text: str


@dataclass(frozen=True)
class SignIn:
    id: uuid.UUID
    created_at: datetime
    result: str
    reason: str | None
    principal: str
    principal_id: uuid.UUID | None
    client_address: str | None
    region: str


@dataclass(frozen=True)
class DirectoryAudit:
    """Graph's directoryAudit: `initiated_by` and `target_resources` already in Graph's JSON shape."""

    id: uuid.UUID
    activity_at: datetime
    activity_display_name: str
    category: str
    operation_type: str
    correlation_id: uuid.UUID | None
    initiated_by: Mapping[str, Any]
    target_resources: list[Any]


@dataclass(frozen=True)
class DeletedItem:
    """An object in deleted items: `record` as it was when deleted, `kind` its table."""

    kind: str
    record: DirectoryObject
    deleted_at: datetime


R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a keyset-paged list; pass `next_after` back for the next page (with `next_key`,
    the last item's sort key, when the list is not in id order). `total` counts every match if asked."""

    items: tuple[R, ...]
    next_after: uuid.UUID | None
    next_key: object = None
    total: int | None = None


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def field_names(record: type[Any]) -> tuple[str, ...]:
    """A record type's column names in its fields' order, worked out once per type (every read
    converts rows); a field marked `metadata={"column": False}` is filled from elsewhere, and
    comes after every column, so a record can be made from its columns' values in order."""
    found = _FIELD_NAMES.get(record)
    if found is None:
        every = fields(record)
        columns = [f.metadata.get("column", True) for f in every]
        if False in columns and True in columns[columns.index(False) :]:
            raise TypeError(f"{record.__name__}: a field that is not a column must follow every column")
        found = tuple(f.name for f, column in zip(every, columns, strict=True) if column)
        _FIELD_NAMES[record] = found
    return found
