"""The token endpoint's grants, decided without servers: a fake session, a real key ring."""

from __future__ import annotations

import uuid

import pytest

from auth_service.errors import AccountLocked, InvalidClient, InvalidGrant
from auth_service.keys.ring import KeyRing
from auth_service.oauth.aadsts import BAD_SECRET, INVALID_CREDENTIALS, REPLAYED
from auth_service.oauth.authentication import Authentication
from auth_service.oauth.grants import Grants, TokenRequest, s256
from auth_service.oauth.id_tokens import IdTokenIssuer
from auth_service.oauth.issuance import Issuance
from auth_service.oauth.lockout import LockoutPolicy
from auth_service.oauth.permissions import ADMIN_SCOPES, USER_SCOPES
from auth_service.oauth.tokens import TokenIssuer, TokenVerifier
from corestore.directory.app_roles import BY_VALUE
from corestore.directory.applications import AppSignIn
from corestore.directory.grants import CodeGrant
from corestore.sign_in_log import SignInRecord
from scale_units.model.geography import Cloud
from tests.unit.fakes import Clock, FakeSession, principal, user

pytestmark = pytest.mark.unit
PASSWORD = "s3cret-Passw0rd"
ASKED = TokenRequest(None, None, None, False)
VERIFIER = "v" * 43


class Fixture:
    def __init__(self) -> None:
        ring = KeyRing.create(Cloud.PUBLIC)
        self.clock = Clock()
        self.logged: list[SignInRecord] = []
        self.verifier = TokenVerifier(ring, Cloud.PUBLIC)
        lockout = LockoutPolicy(threshold=3, clock=self.clock)
        authentication = Authentication(lockout, self.logged.append, "westeurope")
        issuance = Issuance(TokenIssuer(ring, Cloud.PUBLIC), IdTokenIssuer(ring, Cloud.PUBLIC))
        self.grants = Grants(authentication, issuance, self.verifier)
        self.fake = FakeSession()
        self.session = self.fake.as_session()


@pytest.fixture
def f() -> Fixture:
    return Fixture()


async def test_the_password_grant_gives_an_administrator_their_scopes(f: Fixture) -> None:
    admin = await f.fake.users.add(user("admin@contoso.example", admin=True), PASSWORD)
    plain = await f.fake.users.add(user("bob@contoso.example"), PASSWORD)
    tokens = await f.grants.password(f.session, "ADMIN@contoso.example", PASSWORD, ASKED, "10.0.0.1")
    claims = f.verifier.verify_access(tokens["access_token"])
    assert (claims.object_id, claims.scopes) == (admin.id, ADMIN_SCOPES)
    bob = await f.grants.password(f.session, "bob@contoso.example", PASSWORD, ASKED, None)
    assert f.verifier.verify_access(bob["access_token"]).scopes == USER_SCOPES
    assert [(r.result, r.principal_id) for r in f.logged] == [("success", admin.id), ("success", plain.id)]


async def test_a_wrong_password_and_an_unknown_user_fail_alike_and_are_logged(f: Fixture) -> None:
    await f.fake.users.add(user("alice@contoso.example"), PASSWORD)
    for name in ("alice@contoso.example", "nobody@contoso.example"):
        with pytest.raises(InvalidGrant) as failed:
            await f.grants.password(f.session, name, "wrong-passw0rd", ASKED, None)
        assert str(failed.value) == INVALID_CREDENTIALS
    assert [(r.result, r.principal) for r in f.logged] == [
        ("failure", "alice@contoso.example"),
        ("failure", "nobody@contoso.example"),
    ]


async def test_a_disabled_user_is_refused_with_the_same_answer(f: Fixture) -> None:
    await f.fake.users.add(user("gone@contoso.example", enabled=False), PASSWORD)
    with pytest.raises(InvalidGrant, match="AADSTS50126"):
        await f.grants.password(f.session, "gone@contoso.example", PASSWORD, ASKED, None)


async def test_lockout_refuses_even_the_right_password_until_the_backoff_ends(f: Fixture) -> None:
    await f.fake.users.add(user("alice@contoso.example"), PASSWORD)
    for _ in range(3):
        with pytest.raises(InvalidGrant):
            await f.grants.password(f.session, "alice@contoso.example", "wrong-passw0rd", ASKED, None)
    with pytest.raises(AccountLocked):
        await f.grants.password(f.session, "Alice@contoso.example", PASSWORD, ASKED, None)
    f.clock.now += 61
    await f.grants.password(f.session, "alice@contoso.example", PASSWORD, ASKED, None)


async def test_client_credentials_carry_exactly_the_assigned_roles(f: Fixture) -> None:
    app_id = uuid.uuid4()
    role = BY_VALUE["User.Read.All"]
    f.fake.applications.secrets[(str(app_id), "right")] = AppSignIn(principal(app_id), (role.id,))
    with pytest.raises(InvalidGrant) as failed:
        await f.grants.client_credentials(f.session, TokenRequest(str(app_id), "wrong", None, False), None)
    assert str(failed.value) == BAD_SECRET
    tokens = await f.grants.client_credentials(
        f.session, TokenRequest(str(app_id), "right", None, False), None
    )
    claims = f.verifier.verify_access(tokens["access_token"])
    assert (claims.roles, claims.scopes) == (("User.Read.All",), ())
    assert [r.result for r in f.logged] == ["failure", "success"]


async def test_a_refresh_token_rotates_once_and_its_replay_is_refused(f: Fixture) -> None:
    await f.fake.users.add(user("alice@contoso.example"), PASSWORD)
    first = await f.grants.password(f.session, "alice@contoso.example", PASSWORD, ASKED, None)
    second = await f.grants.refresh(f.session, ASKED, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    with pytest.raises(InvalidGrant) as replayed:
        await f.grants.refresh(f.session, ASKED, first["refresh_token"])
    assert str(replayed.value) == REPLAYED


async def test_a_code_needs_its_pkce_verifier_and_is_spent_once(f: Fixture) -> None:
    alice = await f.fake.users.add(user("alice@contoso.example"), PASSWORD)
    app_id = uuid.uuid4()
    grant = CodeGrant(app_id, alice.id, "https://app.example/cb", "spa", s256(VERIFIER), "n-1", "openid")
    asked = TokenRequest(str(app_id), None, None, False)
    code = await f.fake.grants.issue_code(grant)
    with pytest.raises(InvalidGrant, match="code_verifier does not match"):
        await f.grants.authorization_code(f.session, asked, code, grant.redirect_uri, "w" * 43)
    code = await f.fake.grants.issue_code(grant)
    tokens = await f.grants.authorization_code(f.session, asked, code, grant.redirect_uri, VERIFIER)
    assert "id_token" in tokens
    with pytest.raises(InvalidGrant, match="AADSTS70008"):
        await f.grants.authorization_code(f.session, asked, code, grant.redirect_uri, VERIFIER)


async def test_a_web_clients_code_needs_its_secret(f: Fixture) -> None:
    alice = await f.fake.users.add(user("alice@contoso.example"), PASSWORD)
    app_id = uuid.uuid4()
    grant = CodeGrant(app_id, alice.id, "https://app.example/cb", "web", None, None, "openid")
    code = await f.fake.grants.issue_code(grant)
    with pytest.raises(InvalidClient, match="AADSTS7000218"):
        await f.grants.authorization_code(
            f.session, TokenRequest(str(app_id), None, None, False), code, grant.redirect_uri, None
        )
