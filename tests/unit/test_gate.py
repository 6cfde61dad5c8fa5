"""A Graph request's checks, without servers: token, permission, geo and throttle, in order."""

from __future__ import annotations

import uuid

import pytest
from starlette.requests import Request

from auth_service.errors import Forbidden, InvalidToken, ServedElsewhere
from auth_service.http.deps import Gate
from auth_service.http.geo_fence import Confinement
from auth_service.http.request_ids import SCOPE_KEY, Trail
from auth_service.http.throttle import Limits, Throttle, Throttled
from auth_service.keys.ring import KeyRing
from auth_service.oauth.permissions import ADMIN_SCOPES, READ, USER_SCOPES, WRITE
from auth_service.oauth.tokens import TokenIssuer, TokenVerifier, VerifiedToken
from corestore.session import TenantSession
from corestore.types import CommitPosition
from scale_units.model.countries import CountryTable
from scale_units.model.geography import Cloud, Geo
from tests.unit.fakes import TENANT, Clock, FakeSession

pytestmark = pytest.mark.unit
NORTH_AMERICA_URL = "https://na.example:8443"


class Fixture:
    def __init__(self, limits: Limits | None = None) -> None:
        ring = KeyRing.create(Cloud.PUBLIC)
        self.issuer = TokenIssuer(ring, Cloud.PUBLIC)
        self.session = FakeSession()
        fence = Confinement(Cloud.PUBLIC, Geo.EMEA, CountryTable({}, {}), self._nearest)
        verifier = TokenVerifier(ring, Cloud.PUBLIC)
        self.gate = Gate(verifier, self._sessions, fence, Throttle(limits or Limits(), Clock()), "westeurope")

    @staticmethod
    def _nearest(geo: Geo) -> str | None:
        return NORTH_AMERICA_URL if geo is Geo.NORTH_AMERICA else None

    async def _sessions(self, token: VerifiedToken, position: CommitPosition | None) -> TenantSession:
        assert token.tenant_id == self.session.tenant_id
        return self.session.as_session()

    def token(self, *, scopes: tuple[str, ...] = (), roles: tuple[str, ...] = ()) -> str:
        return self.issuer.issue_access(
            tenant_id=TENANT, object_id=uuid.uuid4(), subject="s", scopes=scopes, roles=roles, client_id="c"
        )


def request(path: str, token: str | None, method: str = "GET") -> Request:
    headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    return Request({"type": "http", "method": method, "path": path, "headers": headers, "query_string": b""})


async def test_no_token_or_a_forged_one_is_refused() -> None:
    f = Fixture()
    with pytest.raises(InvalidToken):
        await f.gate.caller(request("/v1.0/users", None), READ, "users")
    with pytest.raises(InvalidToken):
        await f.gate.caller(request("/v1.0/users", f.token(scopes=USER_SCOPES) + "x"), READ, "users")


async def test_a_user_token_reads_but_does_not_write() -> None:
    f = Fixture()
    token = f.token(scopes=USER_SCOPES)
    who = await f.gate.caller(request("/v1.0/users", token), READ, "users")
    assert who.token.tenant_id == TENANT
    with pytest.raises(Forbidden, match=WRITE):
        await f.gate.caller(request("/v1.0/users", token, "POST"), WRITE, "users")


async def test_a_finer_app_role_grants_its_own_resource_only() -> None:
    f = Fixture()
    token = f.token(roles=("User.Read.All",))
    await f.gate.caller(request("/v1.0/users/x", token), READ, "users")
    with pytest.raises(Forbidden):
        await f.gate.caller(request("/v1.0/groups", token), READ, "groups")


async def test_a_tenant_of_another_geo_is_sent_to_its_front_end() -> None:
    f = Fixture()
    f.session = f.session.in_geo(Geo.NORTH_AMERICA)
    with pytest.raises(ServedElsewhere, match=NORTH_AMERICA_URL):
        await f.gate.caller(request("/v1.0/users", f.token(scopes=USER_SCOPES)), READ, "users")
    f.session = f.session.in_geo(Geo.ASIA_PACIFIC)
    with pytest.raises(ServedElsewhere, match=r"not asia-pacific$"):
        await f.gate.caller(request("/v1.0/users", f.token(scopes=USER_SCOPES)), READ, "users")


async def test_requests_past_the_burst_are_throttled() -> None:
    f = Fixture(Limits(requests_per_second=1.0, request_burst=2))
    token = f.token(scopes=USER_SCOPES)
    for _ in range(2):
        await f.gate.caller(request("/v1.0/users", token), READ, "users")
    with pytest.raises(Throttled):
        await f.gate.caller(request("/v1.0/users", token), READ, "users")


async def test_writes_are_audited_as_the_caller_with_the_request_id() -> None:
    f = Fixture()
    user_token, app_token = f.token(scopes=ADMIN_SCOPES), f.token(roles=("User.ReadWrite.All",))
    trail = Trail.new()
    user = request("/v1.0/users", user_token, "POST")
    user.scope[SCOPE_KEY] = trail
    who = await f.gate.caller(user, WRITE, "users")
    assert f.session.actor_of is not None
    actor = f.session.actor_of()
    assert actor.user_id == who.token.object_id
    assert actor.app_id is None
    assert actor.correlation_id == uuid.UUID(trail.request_id)
    who = await f.gate.caller(request("/v1.0/users", app_token, "POST"), WRITE, "users")
    actor = f.session.actor_of()
    assert (actor.app_id, actor.principal_id, actor.user_id) == (who.token.app_id, who.token.object_id, None)
