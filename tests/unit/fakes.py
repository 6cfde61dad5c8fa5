"""Fakes of our own parts for the unit tier: a tenant session held in memory, a clock.

They replace `corestore`'s session where a test is about the front end's decisions
(grants, lockout, permissions, the geo), never Postgres in an integration test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from corestore.directory.applications import AppSignIn
from corestore.directory.grants import CodeGrant, Refresh, RefreshOutcome
from corestore.errors import NotFound
from corestore.objects import ServicePrincipal, User
from corestore.passwords import hash_password
from corestore.session import TenantSession
from corestore.types import Actor
from scale_units.model.geography import Geo

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TENANT = uuid.UUID("3d2c1b0a-9f8e-4d7c-b6a5-948372615041")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def user(name: str, *, admin: bool = False, enabled: bool = True) -> User:
    return User(uuid.uuid4(), name, 1, NOW, NOW, name, None, None, enabled, admin, {})


def principal(app_id: uuid.UUID) -> ServicePrincipal:
    return ServicePrincipal(uuid.uuid4(), "app", 1, NOW, NOW, app_id, True)


class Users:
    def __init__(self) -> None:
        self.by_name: dict[str, tuple[User, str]] = {}

    async def add(self, found: User, password: str) -> User:
        self.by_name[found.user_principal_name.lower()] = (found, await hash_password(password))
        return found

    async def credentials(self, username: str, on_primary: bool = False) -> tuple[User, str] | None:
        return self.by_name.get(username.lower())

    async def get(self, user_id: uuid.UUID) -> User:
        for found, _ in self.by_name.values():
            if found.id == user_id:
                return found
        raise NotFound(f"no user {user_id}")

    async def update(self, user_id: uuid.UUID, values: dict[str, Any]) -> None:
        return None


class Applications:
    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], AppSignIn] = {}

    async def verify_client_secret(self, client_id: str, secret: str) -> AppSignIn | None:
        return self.secrets.get((client_id, secret))


@dataclass
class _Family:
    family: uuid.UUID
    confidential: bool
    used: bool = False


class Grants:
    """Codes and refresh-token families as `corestore.directory.grants` keeps them."""

    def __init__(self) -> None:
        self.codes: dict[str, CodeGrant] = {}
        self.refresh: dict[str, _Family] = {}

    async def issue_code(self, grant: CodeGrant) -> str:
        code = uuid.uuid4().hex
        self.codes[code] = grant
        return code

    async def redeem_code(self, code: str) -> CodeGrant | None:
        return self.codes.pop(code, None)

    async def record_refresh(
        self,
        token: str,
        user_id: uuid.UUID,
        client_id: str | None,
        lifetime: timedelta,
        family: uuid.UUID | None,
        confidential: bool,
        since: datetime | None = None,
    ) -> uuid.UUID:
        """Recorded: the fake knows no revocation (tests/corestore/test_grants.py covers it)."""
        recorded = _Family(family or uuid.uuid4(), confidential)
        self.refresh[token] = recorded
        return recorded.family

    async def redeem_refresh(self, token: str, with_secret: bool) -> RefreshOutcome:
        found = self.refresh.get(token)
        if found is None:
            return RefreshOutcome(Refresh.UNKNOWN)
        if found.used:
            return RefreshOutcome(Refresh.REPLAYED)
        if found.confidential and not with_secret:
            return RefreshOutcome(Refresh.CLIENT_REQUIRED)
        found.used = True
        return RefreshOutcome(Refresh.ROTATED, found.family, found.confidential)


@dataclass(frozen=True)
class Unit:
    id: str = "emea-1"
    geo: Geo = Geo.EMEA


@dataclass
class FakeSession:
    tenant_id: uuid.UUID = TENANT
    unit: Unit = field(default_factory=Unit)
    users: Users = field(default_factory=Users)
    applications: Applications = field(default_factory=Applications)
    grants: Grants = field(default_factory=Grants)
    actor_of: Callable[[], Actor] | None = None

    def audit_as(self, actor_of: Callable[[], Actor]) -> None:
        self.actor_of = actor_of

    def as_session(self) -> TenantSession:
        """The fake where a `TenantSession` is expected (it has what the front end calls)."""
        return cast(TenantSession, self)

    def in_geo(self, geo: Geo) -> FakeSession:
        return replace(self, unit=Unit("other-1", geo))
