"""Shapes at the core store's boundary."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Protocol

from scale_units.model.geography import Cloud, Geo
from scale_units.model.types import ScaleUnitId


@dataclass(frozen=True)
class Actor:
    """Who a session's writes are audited as (migration directory_0008): a signed-in user, or an
    application (its appId and service principal); `correlation_id` is the request's id."""

    user_id: uuid.UUID | None = None
    app_id: uuid.UUID | None = None
    principal_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None

    def setting(self) -> str:
        """The JSON of `corestore.actor`: ids only, so it is safe inline in a simple query."""
        fields = {
            "user": self.user_id,
            "app": self.app_id,
            "principal": self.principal_id,
            "correlation": self.correlation_id,
        }
        return json.dumps({k: str(uuid.UUID(str(v))) for k, v in fields.items() if v is not None})


@dataclass(frozen=True)
class TenantId:
    value: uuid.UUID

    def __str__(self) -> str:
        return str(self.value)


class VerifiedTenantClaims(Protocol):
    """What a verified token tells us: the only source of a tenant id for data access."""

    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def cloud(self) -> Cloud: ...


@dataclass(frozen=True)
class Placement:
    cloud: Cloud
    geo: Geo
    scale_unit: ScaleUnitId
    epoch: int = 0  # how many times the tenant moved: each move's flip raises it


@dataclass(frozen=True)
class Tenant:
    id: TenantId
    display_name: str
    country: str
    placement: Placement
    domains: tuple[str, ...]


@dataclass(frozen=True)
class CommitPosition:
    """A write's position in its scale unit's WAL: reads given it see that write."""

    scale_unit: ScaleUnitId
    lsn: int

    def __str__(self) -> str:
        return f"{self.scale_unit}:{self.lsn:X}"

    @classmethod
    def parse(cls, text: str) -> CommitPosition:
        unit, _, lsn = text.rpartition(":")
        if not unit or not lsn:
            raise ValueError(f"not a commit position: {text!r}")
        return cls(unit, int(lsn, 16))
