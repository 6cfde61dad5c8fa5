"""Access and refresh tokens: JWTs that any OIDC library verifies from our JWKS alone.

Verification trusts nothing in a token before its signature: the algorithm comes
from our key for the `kid` (never from the header, so neither `none` nor an HMAC
keyed with a public key gets in), the kid must be live in this cloud's ring, and
the issuer must be this cloud's issuer for the token's own tenant.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from auth_service.errors import InvalidToken
from auth_service.keyring import KeyRing
from auth_service.keys import VerificationKey
from scale_units.geography import Cloud

AUDIENCE = "https://graph.corestore.local"
ISSUER_HOSTS: dict[Cloud, str] = {
    Cloud.PUBLIC: "login.corestore.local",
    Cloud.USGOV: "login.usgov.corestore.local",
    Cloud.CHINA: "login.china.corestore.local",
}
VERSION = "2.0"
ACCESS_LIFETIME_S = 3600
REFRESH_LIFETIME_S = 14 * 24 * 3600
LEEWAY_S = 30.0
MAX_TOKEN_BYTES = 8 * 1024
MAX_HEADER_CHARS = 512
CACHE_SIZE = 10_000
REQUIRED = ("iss", "aud", "exp", "nbf", "iat", "tid", "oid", "sub", "jti", "ver")
HEADER_NAMES = frozenset({"alg", "kid", "typ"})
# Compact JWS, unpadded base64url: checked by one compiled pattern before anything is decoded.
COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

Clock = Callable[[], float]


@dataclass(frozen=True)
class TokenKind:
    """Access and refresh tokens differ in header `typ` and `token_use`, so neither passes as the other."""

    name: str
    typ: str
    token_use: str | None


ACCESS = TokenKind("access", "JWT", None)
REFRESH = TokenKind("refresh", "rt+jwt", "refresh")


def issuer_for(cloud: Cloud, tenant_id: uuid.UUID) -> str:
    return f"https://{ISSUER_HOSTS[cloud]}/{tenant_id}/v2.0"


@dataclass(frozen=True)
class VerifiedToken:
    """What a request may rely on; every field comes from a verified token."""

    tenant_id: uuid.UUID
    object_id: uuid.UUID
    subject: str
    scopes: tuple[str, ...]
    roles: tuple[str, ...]
    client_id: str | None
    expires_at: datetime
    cloud: Cloud
    token_id: str


def _same_cloud(ring: KeyRing, cloud: Cloud) -> None:
    if ring.cloud is not cloud:
        raise ValueError(f"the {ring.cloud.value} key ring cannot serve cloud {cloud.value}")


class TokenIssuer:
    """Signs tokens with the ring's active key."""

    def __init__(
        self,
        ring: KeyRing,
        cloud: Cloud,
        *,
        lifetime_s: int = ACCESS_LIFETIME_S,
        refresh_lifetime_s: int = REFRESH_LIFETIME_S,
        audience: str = AUDIENCE,
        clock: Clock = time.time,
    ) -> None:
        _same_cloud(ring, cloud)
        self.ring = ring
        self.cloud = cloud
        self.lifetime_s = lifetime_s
        self.refresh_lifetime_s = refresh_lifetime_s
        self.audience = audience
        self._clock = clock

    def issue_access(
        self,
        *,
        tenant_id: uuid.UUID,
        object_id: uuid.UUID,
        subject: str,
        scopes: Sequence[str] = (),
        roles: Sequence[str] = (),
        client_id: str | None = None,
    ) -> str:
        """A user (delegated) token carries `scopes`, an application token `roles`; never both."""
        if scopes and roles:
            raise ValueError("a token carries scopes (a user) or roles (an application), not both")
        if any(not s or s.split() != [s] for s in scopes):
            raise ValueError("a scope is one non-empty word")
        claims: dict[str, Any] = {"sub": subject}
        if scopes:
            claims["scp"] = " ".join(scopes)
        if roles:
            claims["roles"] = list(roles)
        if client_id is not None:
            claims["azp"] = claims["appid"] = client_id
        return self._sign(ACCESS, tenant_id, object_id, claims, self.audience, self.lifetime_s)

    def issue_refresh(
        self, *, tenant_id: uuid.UUID, object_id: uuid.UUID, client_id: str | None = None
    ) -> str:
        """Presented only to the token endpoint, so its audience is the issuer itself."""
        claims: dict[str, Any] = {"sub": str(object_id), "token_use": REFRESH.token_use}
        if client_id is not None:
            claims["azp"] = client_id
        issuer = issuer_for(self.cloud, tenant_id)
        return self._sign(REFRESH, tenant_id, object_id, claims, issuer, self.refresh_lifetime_s)

    def _sign(
        self,
        kind: TokenKind,
        tenant_id: uuid.UUID,
        object_id: uuid.UUID,
        claims: dict[str, Any],
        audience: str,
        lifetime_s: int,
    ) -> str:
        self.ring.poll()
        signer = self.ring.signer()
        now = int(self._clock())
        payload = {
            **claims,
            "iss": issuer_for(self.cloud, tenant_id),
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "tid": str(tenant_id),
            "oid": str(object_id),
            "jti": secrets.token_urlsafe(16),
            "ver": VERSION,
        }
        headers = {"kid": signer.kid, "typ": kind.typ}
        return jwt.encode(payload, signer.private_key, algorithm=signer.algorithm.value, headers=headers)


@dataclass(frozen=True)
class _Remembered:
    token: VerifiedToken
    valid_from: float
    valid_until: float


class TokenVerifier:
    """Verifies one cloud's tokens from keys in memory: no I/O per call.

    Clients present the same access token for its whole lifetime, so a fully verified
    one is remembered by its exact text: a repeat costs a dict lookup and a time check.
    Any change to the ring (rotation, retirement, reload) forgets everything. Meant for
    one event loop: the cache is not locked against concurrent threads.
    """

    def __init__(
        self,
        ring: KeyRing,
        cloud: Cloud,
        *,
        audience: str = AUDIENCE,
        leeway_s: float = LEEWAY_S,
        max_token_bytes: int = MAX_TOKEN_BYTES,
        cache_size: int = CACHE_SIZE,
        clock: Clock = time.time,
    ) -> None:
        _same_cloud(ring, cloud)
        self.ring = ring
        self.cloud = cloud
        self.audience = audience
        self.leeway_s = leeway_s
        self.max_token_bytes = max_token_bytes
        self.cache_size = cache_size
        self._clock = clock
        self._cache: dict[str, _Remembered] = {}
        self._generation = ring.generation

    def verify_access(self, token: str) -> VerifiedToken:
        self._check_size(token)
        self.ring.poll()
        if self._generation != self.ring.generation:
            self._cache.clear()
            self._generation = self.ring.generation
        now = self._clock()
        hit = self._cache.pop(token, None)
        if hit is None or not hit.valid_from <= now < hit.valid_until:
            hit = self._verify(token, ACCESS, now)
        if self.cache_size > 0:
            while len(self._cache) >= self.cache_size:
                del self._cache[next(iter(self._cache))]
            self._cache[token] = hit
        return hit.token

    def verify_refresh(self, token: str) -> VerifiedToken:
        self._check_size(token)
        self.ring.poll()
        return self._verify(token, REFRESH, self._clock()).token

    def _check_size(self, token: str) -> None:
        if len(token) > self.max_token_bytes:
            raise InvalidToken(f"token is larger than {self.max_token_bytes} bytes")

    def _verify(self, token: str, kind: TokenKind, now: float) -> _Remembered:
        if not COMPACT.fullmatch(token):
            raise InvalidToken("not a compact JWS (three base64url segments)")
        header_part, payload_part, signature_part = token.split(".")
        if len(header_part) > MAX_HEADER_CHARS:
            raise InvalidToken("token header is too large")
        key = self._key_for(_json_segment(header_part, "header"), kind)
        signing_input = token[: len(header_part) + 1 + len(payload_part)].encode("ascii")
        if not key.verify(signing_input, _b64(signature_part, "signature")):
            raise InvalidToken("signature does not verify")
        return self._verified(_json_segment(payload_part, "payload"), kind, now)

    def _key_for(self, header: dict[str, Any], kind: TokenKind) -> VerificationKey:
        """The key named by `kid`; the header's `alg` must merely agree with the key's own."""
        if not header.keys() <= HEADER_NAMES:
            raise InvalidToken(
                f"unexpected header parameters: {', '.join(sorted(header.keys() - HEADER_NAMES))}"
            )
        if header.get("typ") != kind.typ:
            raise InvalidToken(f"not an {kind.name} token (typ)")
        kid = header.get("kid")
        key = self.ring.verification_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken(f"signing key is unknown or retired in cloud {self.cloud.value}")
        if header.get("alg") != key.algorithm.value:
            raise InvalidToken(f"algorithm must be {key.algorithm.value} for this key")
        return key

    def _verified(self, claims: dict[str, Any], kind: TokenKind, now: float) -> _Remembered:
        missing = [name for name in REQUIRED if name not in claims]
        if missing:
            raise InvalidToken(f"missing claims: {', '.join(missing)}")
        valid_from, valid_until = _validity(claims, now, self.leeway_s)
        tenant_id, object_id = _uuid_claim(claims, "tid"), _uuid_claim(claims, "oid")
        issuer = issuer_for(self.cloud, tenant_id)
        if claims["iss"] != issuer:
            raise InvalidToken(f"issuer is not {issuer}")
        if claims["aud"] != (issuer if kind is REFRESH else self.audience):
            raise InvalidToken("token is for another audience")
        if claims.get("token_use") != kind.token_use or claims["ver"] != VERSION:
            raise InvalidToken(f"not a version {VERSION} {kind.name} token")
        scopes, roles, client_id = _grants(claims)
        if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
            raise InvalidToken("sub and jti must be strings")
        token = VerifiedToken(
            tenant_id=tenant_id,
            object_id=object_id,
            subject=claims["sub"],
            scopes=scopes,
            roles=roles,
            client_id=client_id,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            cloud=self.cloud,
            token_id=claims["jti"],
        )
        return _Remembered(token, valid_from, valid_until)


def _b64(segment: str, name: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken(f"token {name} is not base64url") from None


def _json_segment(segment: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(segment, name))
    except (ValueError, RecursionError):
        raise InvalidToken(f"token {name} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken(f"token {name} is not a JSON object")
    return value


def _validity(claims: dict[str, Any], now: float, leeway_s: float) -> tuple[float, float]:
    """The window in which the token is valid, leeway included; refused outside it."""
    times = [claims[name] for name in ("exp", "nbf", "iat")]
    if any(type(t) is not int for t in times):
        raise InvalidToken("exp, nbf and iat must be integers")
    exp, nbf, iat = times
    if not 0 <= min(times) <= max(times) < 2**40:
        raise InvalidToken("exp, nbf or iat is out of range")
    valid_from, valid_until = max(nbf, iat) - leeway_s, exp + leeway_s
    if now >= valid_until:
        raise InvalidToken("token has expired")
    if now < valid_from:
        raise InvalidToken("token is not yet valid")
    return valid_from, valid_until


def _uuid_claim(claims: dict[str, Any], name: str) -> uuid.UUID:
    value = claims[name]
    try:
        parsed = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value:
        raise InvalidToken(f"{name} is not a GUID")
    return parsed


def _grants(claims: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    scp, roles, azp = claims.get("scp", ""), claims.get("roles", []), claims.get("azp")
    if not isinstance(scp, str) or not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidToken("scp must be a string and roles a list of strings")
    if azp is not None and not isinstance(azp, str):
        raise InvalidToken("azp must be a string")
    return tuple(scp.split()), tuple(roles), azp
