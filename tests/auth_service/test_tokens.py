"""Tokens: what we issue verifies here and in any JWT library; nothing else gets through."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from auth_service.errors import InvalidToken
from auth_service.keys.ring import KeyRing, RingPolicy
from auth_service.keys.signing import Algorithm
from auth_service.oauth.tokens import AUDIENCE, TokenIssuer, TokenVerifier, issuer_for
from scale_units.model.geography import Cloud

pytestmark = pytest.mark.unit

TENANT = uuid.UUID("0b7e5f0a-8d7c-4c9e-b1f4-5e6a7b8c9d01")
OTHER_TENANT = uuid.UUID("9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
USER = uuid.UUID("c0ffee00-1234-4abc-9def-0123456789ab")


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return KeyRing.create(Cloud.PUBLIC)


@pytest.fixture
def issuer(ring: KeyRing) -> TokenIssuer:
    return TokenIssuer(ring, Cloud.PUBLIC)


@pytest.fixture
def verifier(ring: KeyRing) -> TokenVerifier:
    return TokenVerifier(ring, Cloud.PUBLIC)


def user_token(issuer: TokenIssuer, tenant: uuid.UUID = TENANT) -> str:
    return issuer.issue_access(
        tenant_id=tenant, object_id=USER, subject=str(USER), scopes=["User.Read", "Directory.Read.All"]
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decoded(segment: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=="))
    return value


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return decoded(header), decoded(payload)


def signed(
    ring: KeyRing, change: Callable[[dict[str, Any]], object], header: dict[str, Any] | None = None
) -> str:
    """A genuinely signed token whose claims (and header) were changed before signing."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer_for(Cloud.PUBLIC, TENANT),
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "tid": str(TENANT),
        "oid": str(USER),
        "sub": str(USER),
        "jti": "j",
        "ver": "2.0",
    }
    change(claims)
    signer = ring.signer()
    headers = {"kid": signer.kid, "typ": "JWT", **(header or {})}
    return jwt.encode(claims, signer.private_key, algorithm=signer.algorithm.value, headers=headers)


def test_user_token_round_trip(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue_access(
        tenant_id=TENANT, object_id=USER, subject=str(USER), scopes=["User.Read"], client_id="cli"
    )
    verified = verifier.verify_access(token)
    assert (verified.tenant_id, verified.object_id, verified.subject) == (TENANT, USER, str(USER))
    assert (verified.scopes, verified.roles, verified.client_id) == (("User.Read",), (), "cli")
    assert verified.cloud is Cloud.PUBLIC
    assert abs(verified.expires_at.timestamp() - (time.time() + 3600)) < 5
    assert verifier.verify_access(token) == verified, "a repeat (served from the cache) is the same"


def test_app_token_round_trip_and_wire_shape(
    ring: KeyRing, issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    app = uuid.uuid4()
    token = issuer.issue_access(
        tenant_id=TENANT,
        object_id=app,
        subject=str(app),
        roles=["Directory.ReadWrite.All"],
        client_id="app-1",
    )
    verified = verifier.verify_access(token)
    assert (verified.roles, verified.scopes, verified.client_id) == (
        ("Directory.ReadWrite.All",),
        (),
        "app-1",
    )
    header, claims = segments(token)
    assert header == {"alg": "RS256", "kid": ring.signer().kid, "typ": "JWT"}
    assert claims["iss"] == f"https://login.corestore.local/{TENANT}/v2.0"
    assert claims["aud"] == "https://graph.corestore.local"
    assert {"iss", "aud", "exp", "nbf", "iat", "tid", "oid", "sub", "jti", "roles", "azp", "appid"} <= set(
        claims
    )
    assert (claims["ver"], claims["appid"], claims["exp"] - claims["iat"]) == ("2.0", "app-1", 3600)
    assert "scp" not in claims
    assert "token_use" not in claims


def test_a_token_carries_scopes_or_roles_not_both(issuer: TokenIssuer) -> None:
    with pytest.raises(ValueError, match="not both"):
        issuer.issue_access(tenant_id=TENANT, object_id=USER, subject="s", scopes=["a"], roles=["b"])


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_a_standard_library_verifies_our_token_from_the_jwks_alone(algorithm: Algorithm) -> None:
    ring = KeyRing.create(Cloud.USGOV, RingPolicy(algorithm))
    token = user_token(TokenIssuer(ring, Cloud.USGOV))
    kid = jwt.get_unverified_header(token)["kid"]
    entry = next(k for k in ring.jwks()["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        token,
        jwt.PyJWK(entry),
        algorithms=[entry["alg"]],
        audience=AUDIENCE,
        issuer=f"https://login.usgov.corestore.local/{TENANT}/v2.0",
    )
    assert claims["tid"] == str(TENANT)
    assert claims["scp"] == "User.Read Directory.Read.All"


def test_refresh_tokens_are_not_access_tokens_and_vice_versa(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    refresh = issuer.issue_refresh(tenant_id=TENANT, object_id=USER, client_id="cli")
    verified = verifier.verify_refresh(refresh)
    assert (verified.tenant_id, verified.object_id, verified.client_id) == (TENANT, USER, "cli")
    _, claims = segments(refresh)
    assert claims["token_use"] == "refresh"
    assert claims["exp"] - claims["iat"] > 3600
    with pytest.raises(InvalidToken):
        verifier.verify_access(refresh)
    with pytest.raises(InvalidToken):
        verifier.verify_refresh(user_token(issuer))


def test_a_token_of_another_cloud_is_refused(issuer: TokenIssuer) -> None:
    usgov = KeyRing.create(Cloud.USGOV)
    with pytest.raises(InvalidToken, match="cloud usgov"):
        TokenVerifier(usgov, Cloud.USGOV).verify_access(user_token(issuer))
    with pytest.raises(ValueError, match="cannot serve"):
        TokenVerifier(usgov, Cloud.PUBLIC)


def test_a_token_signed_by_a_key_the_ring_never_had_is_refused(verifier: TokenVerifier) -> None:
    stranger = KeyRing.create(Cloud.PUBLIC)
    with pytest.raises(InvalidToken, match="unknown or retired"):
        verifier.verify_access(user_token(TokenIssuer(stranger, Cloud.PUBLIC)))


def fixed(now: float) -> Callable[[], float]:
    return lambda: now


def test_expiry_and_not_before_allow_the_leeway_and_no_more(ring: KeyRing, issuer: TokenIssuer) -> None:
    token = user_token(issuer)
    claims = segments(token)[1]
    exp, nbf = claims["exp"], claims["nbf"]
    for now, ok in [(exp + 29, True), (exp + 30, False), (nbf - 30, True), (nbf - 31, False)]:
        verifier = TokenVerifier(ring, Cloud.PUBLIC, clock=fixed(now))
        if ok:
            verifier.verify_access(token)
        else:
            with pytest.raises(InvalidToken, match=r"expired|not yet valid"):
                verifier.verify_access(token)
    with pytest.raises(InvalidToken, match="expired"):
        TokenVerifier(ring, Cloud.PUBLIC, leeway_s=5, clock=fixed(exp + 5)).verify_access(token)


def test_a_cached_token_still_expires_and_still_dies_with_its_key() -> None:
    ring = KeyRing.create(Cloud.PUBLIC)
    now = [time.time()]
    verifier = TokenVerifier(ring, Cloud.PUBLIC, clock=lambda: now[0])
    token = user_token(TokenIssuer(ring, Cloud.PUBLIC))
    verifier.verify_access(token)
    now[0] += 3600 + 31
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify_access(token)
    now[0] = time.time()
    verifier.verify_access(token)
    old = ring.active.kid
    ring.activate(ring.rotate().kid)
    verifier.verify_access(token)
    ring.retire(old)
    with pytest.raises(InvalidToken, match="unknown or retired"):
        verifier.verify_access(token)


def _hs256_with_public_key(ring: KeyRing) -> str:
    pem = (
        ring.signer()
        .private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = b64(json.dumps({"alg": "HS256", "kid": ring.signer().kid, "typ": "JWT"}).encode())
    payload = b64(json.dumps(segments(signed(ring, lambda c: None))[1]).encode())
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


def _tampered_tid(ring: KeyRing) -> str:
    header, payload, signature = user_token(TokenIssuer(ring, Cloud.PUBLIC)).split(".")
    claims = decoded(payload)
    claims["tid"] = str(OTHER_TENANT)
    claims["iss"] = issuer_for(Cloud.PUBLIC, OTHER_TENANT)
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def _other_kid(ring: KeyRing) -> str:
    _, payload, signature = user_token(TokenIssuer(ring, Cloud.PUBLIC)).split(".")
    forged = b64(json.dumps({"alg": "ES256", "kid": "not-a-kid", "typ": "JWT"}).encode())
    return f"{forged}.{payload}.{signature}"


def _none_with_signature(ring: KeyRing) -> str:
    _, payload, signature = signed(ring, lambda c: None).split(".")
    header = b64(json.dumps({"alg": "none", "kid": ring.signer().kid, "typ": "JWT"}).encode())
    return f"{header}.{payload}.{signature}"


def _claims(change: Callable[[dict[str, Any]], object]) -> Callable[[KeyRing], str]:
    return lambda ring: signed(ring, change)


def _header(extra: dict[str, Any]) -> Callable[[KeyRing], str]:
    return lambda ring: signed(ring, lambda c: None, extra)


def _text(token: str) -> Callable[[KeyRing], str]:
    return lambda ring: token


def _other_tid(value: str) -> Callable[[KeyRing], str]:
    return _claims(lambda c: c.update(tid=value, iss=c["iss"].replace(str(TENANT), value)))


MALFORMED = "not a compact JWS"
# Each case breaks one thing about an otherwise genuine token (see the twin test below).
HOSTILE = [
    pytest.param(
        lambda ring: jwt.encode(
            segments(signed(ring, lambda c: None))[1],
            "",
            algorithm="none",
            headers={"kid": ring.signer().kid},
        ),
        MALFORMED,
        id="alg none",
    ),
    pytest.param(_none_with_signature, "algorithm must be RS256", id="alg none with a signature"),
    pytest.param(_hs256_with_public_key, "algorithm must be RS256", id="HS256 keyed with the public key PEM"),
    pytest.param(_claims(lambda c: c.update(exp=c["iat"] - 120)), "expired", id="expired"),
    pytest.param(_claims(lambda c: c.update(nbf=c["iat"] + 120)), "not yet valid", id="not yet valid"),
    pytest.param(_claims(lambda c: c.update(iat=c["iat"] + 120)), "not yet valid", id="issued in the future"),
    pytest.param(
        _claims(lambda c: c.update(iss=issuer_for(Cloud.PUBLIC, OTHER_TENANT))), "issuer", id="wrong issuer"
    ),
    pytest.param(
        _claims(lambda c: c.update(iss=issuer_for(Cloud.CHINA, TENANT))),
        "issuer",
        id="issuer of another cloud",
    ),
    pytest.param(
        _claims(lambda c: c.update(aud="https://elsewhere.example")), "audience", id="wrong audience"
    ),
    pytest.param(_claims(lambda c: c.update(aud=[AUDIENCE])), r"\$\.aud", id="audience as a list"),
    pytest.param(_tampered_tid, "signature does not verify", id="tampered tid"),
    pytest.param(_other_kid, "unknown or retired", id="unknown kid"),
    pytest.param(_other_tid("contoso"), r"regex .* at `\$\.tid`", id="tid not a GUID"),
    pytest.param(_other_tid(TENANT.hex), r"regex .* at `\$\.tid`", id="tid not canonical"),
    pytest.param(_claims(lambda c: c.pop("jti")), "missing required field `jti`", id="missing jti"),
    pytest.param(_claims(lambda c: c.pop("oid")), "missing required field `oid`", id="missing oid"),
    pytest.param(
        _claims(lambda c: c.update(exp=str(c["exp"]))),
        r"Expected `int`, got `str` - at `\$\.exp`",
        id="exp as a string",
    ),
    pytest.param(_claims(lambda c: c.update(ver="1.0")), "version", id="wrong version"),
    pytest.param(
        _claims(lambda c: c.update(exp=True)),
        r"Expected `int`, got `bool` - at `\$\.exp`",
        id="exp as a boolean",
    ),
    pytest.param(
        _claims(lambda c: c.update(exp=2**63)), r"Expected `int` <= \d+ - at `\$\.exp`", id="exp out of range"
    ),
    pytest.param(
        _claims(lambda c: c.update(scp=["User.Read"])),
        r"Expected `str`, got `array` - at `\$\.scp`",
        id="scp as a list",
    ),
    pytest.param(_header({"jku": "https://evil.example/keys"}), "unknown field `jku`", id="extra header jku"),
    pytest.param(_header({"typ": "rt+jwt"}), "not an access token", id="refresh typ"),
    pytest.param(_claims(lambda c: c.update(token_use="refresh")), "access token", id="token_use refresh"),
    pytest.param(_claims(lambda c: c.update(padding="x" * 9000)), "larger than", id="oversized"),
    pytest.param(_text(""), MALFORMED, id="empty"),
    pytest.param(_text("not a token"), MALFORMED, id="garbage"),
    pytest.param(_text("..."), MALFORMED, id="dots"),
    pytest.param(_text("eyJhbGciOiJFUzI1NiJ9.eyJ0aWQiOiJ4In0"), MALFORMED, id="two segments"),
    pytest.param(_text("a.b.c"), "not base64url", id="one-character segments"),
    pytest.param(_text("é.é.é"), MALFORMED, id="non-ascii"),
    pytest.param(_text("\ud800.\ud800.\ud800"), MALFORMED, id="lone surrogate"),
    pytest.param(
        _text(f"{b64(b'[1]')}.{b64(b'{}')}.AAAA"), "header: Expected `object`", id="header not an object"
    ),
    pytest.param(
        _text(f"{b64(json.dumps({'kid': 'k' * 2000}).encode())}.e30.AAAA"),
        "header is too large",
        id="huge header",
    ),
]


@pytest.mark.parametrize(("make", "reason"), HOSTILE)
def test_hostile_tokens_are_all_invalid(
    ring: KeyRing, verifier: TokenVerifier, make: Callable[[KeyRing], str], reason: str
) -> None:
    token = make(ring)
    with pytest.raises(InvalidToken, match=reason):
        verifier.verify_access(token)
    with pytest.raises(InvalidToken):
        verifier.verify_refresh(token)


def test_the_genuine_twin_of_the_hostile_tokens_verifies(ring: KeyRing, verifier: TokenVerifier) -> None:
    """The hostile cases differ from this one only in what they break."""
    assert verifier.verify_access(signed(ring, lambda c: None)).tenant_id == TENANT


def test_oversized_tokens_are_refused_before_parsing(verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken, match="larger than 8192 bytes"):
        verifier.verify_access("a" * 8193)
