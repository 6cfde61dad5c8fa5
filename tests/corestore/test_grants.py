"""Codes are single-use and expire; refresh tokens rotate, and a replay revokes the family."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest
from typer.testing import CliRunner

from corestore.directory.grants import CodeGrant, Refresh, check_redirect_uris
from corestore.errors import InvalidRequest, NotFound
from corestore.roles import dsn
from corestore.session import TenantSession
from corestore.store import CoreStore
from devtools.cli import app as cli
from scale_units.state import ClusterState

CALLBACK = "https://app.example/callback"


async def _grant(session: TenantSession) -> CodeGrant:
    user = await session.users.create(user_principal_name="u@x.example", display_name="U")
    app = await session.applications.create(display_name="App")
    await session.grants.set_redirect_uris(app.id, "spa", [CALLBACK])
    return CodeGrant(app.app_id, user.id, CALLBACK, "spa", "challenge", "nonce-1", "openid")


async def test_a_client_is_seen_with_its_exact_redirect_uris(session: TenantSession) -> None:
    grant = await _grant(session)
    client = await session.grants.client(str(grant.app_id))
    assert client is not None
    assert client.enabled
    assert client.platform_of(CALLBACK) == "spa"
    for look_alike in (CALLBACK + "/", CALLBACK.upper(), CALLBACK + "?x=1", "https://app.example/callbacks"):
        assert client.platform_of(look_alike) is None
    assert await session.grants.client("not-a-guid") is None
    assert await session.grants.client("00000000-0000-0000-0000-000000000000") is None


@pytest.mark.parametrize(
    ("platform", "uri"),
    [
        ("web", "http://evil.example/cb"),
        ("spa", "myapp://auth"),
        ("web", "https://app.example/cb#frag"),
        ("web", "/relative"),
        ("desktop", "https://app.example/cb"),
    ],
)
async def test_bad_redirect_uris_are_refused_and_nothing_is_written(
    session: TenantSession, platform: str, uri: str
) -> None:
    grant = await _grant(session)
    application = (await session.applications.list(filter=f"appId eq {grant.app_id}")).items[0]
    with pytest.raises(InvalidRequest):
        await session.grants.set_redirect_uris(application.id, platform, [CALLBACK, uri])
    client = await session.grants.client(str(grant.app_id))
    assert client is not None
    assert dict(client.redirect_uris) == {CALLBACK: "spa"}


async def test_redirect_uris_of_a_missing_application_are_not_found(session: TenantSession) -> None:
    with pytest.raises(NotFound):
        await session.grants.set_redirect_uris(
            "00000000-0000-0000-0000-000000000001", "publicClient", ["myapp://auth"]
        )


async def test_a_code_redeems_once(session: TenantSession) -> None:
    grant = await _grant(session)
    code = await session.grants.issue_code(grant)
    assert await session.grants.redeem_code(code) == grant
    assert await session.grants.redeem_code(code) is None
    assert await session.grants.redeem_code("never-issued") is None


async def test_an_expired_code_is_refused(session: TenantSession, cluster: ClusterState) -> None:
    grant = await _grant(session)
    code = await session.grants.issue_code(grant)
    primary = session.unit.primary
    conn = await asyncpg.connect(dsn(cluster, primary, "superuser"))
    try:
        await conn.execute(
            "UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE tenant_id = $1",
            session.tenant_id,
        )
    finally:
        await conn.close()
    assert await session.grants.redeem_code(code) is None


async def test_refresh_tokens_rotate_and_a_replay_revokes_the_family(session: TenantSession) -> None:
    grant = await _grant(session)
    day = timedelta(days=1)
    family = await session.grants.record_refresh("rt-1", grant.user_id, "client", day)
    used = await session.grants.redeem_refresh("rt-1")
    assert used.result is Refresh.ROTATED
    assert used.family_id == family
    await session.grants.record_refresh("rt-2", grant.user_id, "client", day, family)
    await session.grants.record_refresh("rt-other", grant.user_id, "client", day)

    replay = await session.grants.redeem_refresh("rt-1")
    assert replay.result is Refresh.REPLAYED
    assert (await session.grants.redeem_refresh("rt-2")).result is Refresh.UNKNOWN, "the chain is revoked"
    assert (await session.grants.redeem_refresh("rt-other")).result is Refresh.ROTATED, "other families live"


async def test_a_confidential_clients_refresh_token_needs_the_client(session: TenantSession) -> None:
    grant = await _grant(session)
    await session.grants.record_refresh(
        "web-rt", grant.user_id, "client", timedelta(days=1), confidential=True
    )
    alone = await session.grants.redeem_refresh("web-rt")
    assert alone.result is Refresh.CLIENT_REQUIRED
    with_client = await session.grants.redeem_refresh("web-rt", client_authenticated=True)
    assert with_client.result is Refresh.ROTATED, "the refused attempt left it unused"
    assert with_client.confidential


async def test_sign_out_revokes_the_users_refresh_tokens_for_that_client(session: TenantSession) -> None:
    grant = await _grant(session)
    day = timedelta(days=1)
    await session.grants.record_refresh("mine", grant.user_id, "client", day)
    await session.grants.record_refresh("theirs", grant.user_id, "another", day)
    assert await session.grants.revoke_refresh(grant.user_id, "client") == 1
    assert (await session.grants.redeem_refresh("mine")).result is Refresh.UNKNOWN
    assert (await session.grants.redeem_refresh("theirs")).result is Refresh.ROTATED


def test_operators_register_redirect_uris_from_the_command_line(cluster: ClusterState) -> None:
    async def application() -> tuple[str, str, str]:
        store = CoreStore.open(cluster.directory)
        try:
            tenant = await store.operator.create_tenant("Cli", "FR")
            created = await (await store.operator.session(tenant.id)).applications.create(display_name="A")
            return str(tenant.id), str(created.id), str(created.app_id)
        finally:
            await store.close()

    async def registered(tenant_id: str, app_id: str) -> dict[str, str]:
        store = CoreStore.open(cluster.directory)
        try:
            client = await (await store.operator.session(uuid.UUID(tenant_id))).grants.client(app_id)
            assert client is not None
            return dict(client.redirect_uris)
        finally:
            await store.close()

    tenant_id, object_id, app_id = asyncio.run(application())
    command = ["tenant", "redirect-uris", tenant_id, object_id, "--dir", str(cluster.directory)]
    ok = CliRunner().invoke(cli, [*command, "--platform", "spa", "--uri", CALLBACK])
    assert ok.exit_code == 0, ok.output
    refused = CliRunner().invoke(cli, [*command, "--platform", "web", "--uri", "http://evil.example/"])
    assert refused.exit_code == 1
    assert "loopback" in refused.output
    assert asyncio.run(registered(tenant_id, app_id)) == {CALLBACK: "spa"}


@pytest.mark.parametrize(
    ("platform", "uris"),
    [
        ("web", ["https://app.example/cb"] * 65),  # the limit counts what was sent, repeats too
        ("web", ["http://127.0.0.1:46*"]),  # not a port
        ("spa", ["myapp://auth"]),  # a scheme of its own: public clients only
        ("publicClient", ["HTTP://evil.example/"]),  # http off loopback, in any case
    ],
)
def test_redirect_uris_outside_the_documented_shapes_are_refused(platform: str, uris: list[str]) -> None:
    with pytest.raises(InvalidRequest):
        check_redirect_uris(platform, uris)


def test_a_native_app_may_use_its_own_scheme() -> None:
    assert check_redirect_uris("publicClient", ["myapp://auth", "myapp://auth"]) == ("myapp://auth",)


async def test_a_revocation_ends_tokens_codes_and_grants_already_under_way(session: TenantSession) -> None:
    """Every code and refresh token of the user goes; a grant that redeemed its code or refresh token
    before the revocation cannot record the refresh token it was about to hand out."""
    grant = await _grant(session)
    day = timedelta(days=1)
    pending = await session.grants.issue_code(grant)
    under_way = await session.grants.redeem_code(await session.grants.issue_code(grant))
    assert under_way is not None
    assert under_way.issued_at is not None
    family = await session.grants.record_refresh("rt-1", grant.user_id, "client", day)
    assert (await session.grants.redeem_refresh("rt-1")).result is Refresh.ROTATED
    await session.grants.record_refresh("rt-live", grant.user_id, "client", day)

    since = await session.users.revoke_sign_in_sessions(str(grant.user_id))
    assert (await session.users.get(grant.user_id)).sign_in_sessions_valid_from == since
    assert await session.grants.redeem_code(pending) is None
    assert (await session.grants.redeem_refresh("rt-live")).result is Refresh.UNKNOWN
    assert await session.grants.record_refresh("rt-2", grant.user_id, "client", day, family) is None
    assert (
        await session.grants.record_refresh("rt-3", grant.user_id, "c", day, since=under_way.issued_at)
        is None
    )
    assert await session.grants.record_refresh("rt-new", grant.user_id, "client", day) is not None, (
        "a new sign-in"
    )


@pytest.mark.parametrize(
    "change", [{"password": "N3w-passw0rd!"}, {"account_enabled": False}], ids=["password", "disabled"]
)
async def test_a_new_password_or_a_disabled_account_ends_sessions(
    session: TenantSession, change: dict[str, object]
) -> None:
    grant = await _grant(session)
    await session.grants.record_refresh("rt", grant.user_id, "client", timedelta(days=1))
    updated = await session.users.update(grant.user_id, change)
    assert updated.sign_in_sessions_valid_from is not None
    assert (await session.grants.redeem_refresh("rt")).result is Refresh.UNKNOWN
    await session.users.update(grant.user_id, {"display_name": "Renamed"})
    assert (
        await session.users.get(grant.user_id)
    ).sign_in_sessions_valid_from == updated.sign_in_sessions_valid_from
