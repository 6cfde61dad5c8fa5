"""Access and refresh tokens: JWTs that any OIDC library verifies from our JWKS alone.

One module over 300 lines on purpose: issuing and verifying share the claim shapes,
and the verifier's checks are read beside what the issuer writes.

Verification trusts nothing in a token before its signature: the algorithm comes
from our key for the `kid` (never from the header, so neither `none` nor an HMAC
keyed with a public key gets in), the kid must be live in this cloud's ring, and
the issuer must be this cloud's issuer for the token's own tenant.

The checks are our own rather than `jwt.decode`'s because PyJWT cannot reach the
bench goal (token-verify >= 0.6x the bare RSA check): PyJWT 2.15 checks each
segment's base64url alphabet character by character in Python
(`api_jws._decode_base64url_segment`), so `jwt.api_jws.decode_complete` alone ran
8.9k/s against 39k/s for the RSA check on one core here (0.23x; `jwt.decode` with
claims 6.3k/s). `COMPACT` does the same alphabet check in one compiled regex.
Signing stays PyJWT's.
"""

from __future__ import annotations

import binascii
import re
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Annotated, Any, TypeVar

import jwt
import msgspec

from auth_service.errors import InvalidToken
from auth_service.keys.ring import KeyRing
from auth_service.keys.signing import VerificationKey
from scale_units.model.geography import Cloud

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
HEADER_CACHE_SIZE = 64
# Compact JWS, unpadded base64url: checked by one compiled pattern before anything is decoded.
COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
URLSAFE = bytes.maketrans(b"-_", b"+/")
PADDING = (b"", b"=", b"==", b"=")  # by length mod 4; a length of 1 mod 4 is refused by the decoder
GUID_CACHE_SIZE = 4096

Clock = Callable[[], float]
Segment = TypeVar("Segment", bound=msgspec.Struct)


@dataclass(frozen=True)
class TokenKind:
    """Access and refresh tokens differ in header `typ` and `token_use`, so neither passes as the other."""

    name: str
    typ: str
    token_use: str | None


ACCESS = TokenKind("access", "JWT", None)
REFRESH = TokenKind("refresh", "rt+jwt", "refresh")


def issuer_for(cloud: Cloud, tenant_id: uuid.UUID | str) -> str:
    """`tenant_id` as a UUID, or its canonical text."""
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

    # Worked out once per token, not per request: the verifier remembers a verified token.
    @cached_property
    def granted(self) -> set[str]:
        """Its scopes and app roles: what `permissions.permitted` checks."""
        return set(self.scopes) | set(self.roles)

    @cached_property
    def app_id(self) -> uuid.UUID | None:
        """Its client id as the GUID an app id is, else None."""
        return guid(self.client_id)

    @cached_property
    def tenant_text(self) -> str:
        """`tenant_id` as text, for the request's log line and throttle key."""
        return str(self.tenant_id)

    @cached_property
    def app_text(self) -> str | None:
        """`app_id` as text, for the request's log line."""
        return None if self.app_id is None else str(self.app_id)


def guid(text: str | None) -> uuid.UUID | None:
    """A GUID, or None for anything else."""
    try:
        return None if text is None else uuid.UUID(text)
    except ValueError:
        return None


def _same_cloud(ring: KeyRing, cloud: Cloud) -> None:
    if ring.cloud is not cloud:
        raise ValueError(f"the {ring.cloud.value} key ring cannot serve cloud {cloud.value}")


class TokenIssuer:
    """Signs tokens with the ring's active key, on the event loop: an RS256 signature costs
    ~0.8 ms of CPU here, and a thread hop would add work without taking any off the process."""

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
        # Every token a key signs has the same header text: its key is looked up once.
        self._headers: dict[tuple[str, TokenKind], VerificationKey] = {}
        self._generation = ring.generation
        self.remembered = 0  # access tokens answered from memory, and verified in full (metrics)
        self.verified = 0

    def verify_access(self, token: str) -> VerifiedToken:
        self._check_size(token)
        now = self._clock()
        hit = self._cache.pop(token, None)
        if hit is None or not hit.valid_from <= now < hit.valid_until:
            self.verified += 1
            hit = self._verify(token, ACCESS, now)
        else:
            self.remembered += 1
        if self.cache_size > 0:
            while len(self._cache) >= self.cache_size:
                del self._cache[next(iter(self._cache))]
            self._cache[token] = hit
        return hit.token

    def verify_refresh(self, token: str) -> VerifiedToken:
        self._check_size(token)
        return self._verify(token, REFRESH, self._clock()).token

    def _check_size(self, token: str) -> None:
        """Also picks up key changes: any change to the ring forgets every remembered token and header."""
        if len(token) > self.max_token_bytes:
            raise InvalidToken(f"token is larger than {self.max_token_bytes} bytes")
        self.ring.poll()
        if self._generation != self.ring.generation:
            self._cache.clear()
            self._headers.clear()
            self._generation = self.ring.generation

    def _verify(self, token: str, kind: TokenKind, now: float) -> _Remembered:
        if not COMPACT.fullmatch(token):
            raise InvalidToken("not a compact JWS (three base64url segments)")
        header_part, payload_part, signature_part = token.split(".")
        key = self._headers.get((header_part, kind))
        if key is None:
            if len(header_part) > MAX_HEADER_CHARS:
                raise InvalidToken("token header is too large")
            key = self._key_for(_decode(HEADER, header_part, "header"), kind)
            if len(self._headers) < HEADER_CACHE_SIZE:
                self._headers[(header_part, kind)] = key
        signing_input = token[: len(header_part) + 1 + len(payload_part)].encode("ascii")
        if not key.verify(signing_input, _b64(signature_part, "signature")):
            raise InvalidToken("signature does not verify")
        return self._verified(_decode(CLAIMS, payload_part, "payload"), kind, now)

    def _key_for(self, header: _Header, kind: TokenKind) -> VerificationKey:
        """The key named by `kid`; the header's `alg` must merely agree with the key's own."""
        if header.typ != kind.typ:
            raise InvalidToken(f"not an {kind.name} token (typ)")
        key = self.ring.verification_key(header.kid)
        if key is None:
            raise InvalidToken(f"signing key is unknown or retired in cloud {self.cloud.value}")
        if header.alg != key.algorithm.value:
            raise InvalidToken(f"algorithm must be {key.algorithm.value} for this key")
        return key

    def _verified(self, claims: _Claims, kind: TokenKind, now: float) -> _Remembered:
        """Types, presence and ranges were checked while decoding; here, what they must equal."""
        valid_from, valid_until = max(claims.nbf, claims.iat) - self.leeway_s, claims.exp + self.leeway_s
        if now >= valid_until:
            raise InvalidToken("token has expired")
        if now < valid_from:
            raise InvalidToken("token is not yet valid")
        issuer = issuer_for(self.cloud, claims.tid)
        if claims.iss != issuer:
            raise InvalidToken(f"issuer is not {issuer}")
        if claims.aud != (issuer if kind is REFRESH else self.audience):
            raise InvalidToken("token is for another audience")
        if claims.token_use != kind.token_use or claims.ver != VERSION:
            raise InvalidToken(f"not a version {VERSION} {kind.name} token")
        token = VerifiedToken(
            tenant_id=_guid(claims.tid),
            object_id=_guid(claims.oid),
            subject=claims.sub,
            scopes=tuple(claims.scp.split()),
            roles=claims.roles,
            client_id=claims.azp,
            expires_at=datetime.fromtimestamp(claims.exp, UTC),
            cloud=self.cloud,
            token_id=claims.jti,
        )
        return _Remembered(token, valid_from, valid_until)


class _Header(msgspec.Struct, forbid_unknown_fields=True):
    """A JOSE header of ours: nothing else (no `jku`, `x5u`, `crit`) is accepted."""

    alg: str
    kid: str
    typ: str


# Every time claim: an integer (not a float, not a boolean), in a sane range.
Time = Annotated[int, msgspec.Meta(ge=0, lt=2**40)]
# GUIDs in the canonical form we issue (lower-case, hyphenated), so each has one spelling.
Guid = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


class _Claims(msgspec.Struct, gc=False):
    """The claims a token must carry, typed: decoding checks presence, types and ranges in one pass."""

    iss: str
    aud: str
    exp: Time
    nbf: Time
    iat: Time
    tid: Guid
    oid: Guid
    sub: str
    jti: str
    ver: str
    scp: str = ""
    roles: tuple[str, ...] = ()
    azp: str | None = None
    token_use: str | None = None


HEADER = msgspec.json.Decoder(_Header)
CLAIMS = msgspec.json.Decoder(_Claims)


def _b64(segment: str, name: str) -> bytes:
    """A segment `COMPACT` has matched (so ASCII of the base64url alphabet): decoded without
    `base64.urlsafe_b64decode`'s generic checks and copies, a fifth of a verification's time."""
    try:
        return binascii.a2b_base64(segment.encode("ascii").translate(URLSAFE) + PADDING[len(segment) % 4])
    except (binascii.Error, ValueError):
        raise InvalidToken(f"token {name} is not base64url") from None


@lru_cache(maxsize=GUID_CACHE_SIZE)
def _guid(text: str) -> uuid.UUID:
    """A `Guid` claim as a UUID: the same tenants and clients come back all the time, and
    `uuid.UUID(text)` costs a tenth of a verification."""
    return uuid.UUID(text)


def _decode(decoder: msgspec.json.Decoder[Segment], segment: str, name: str) -> Segment:
    try:
        return decoder.decode(_b64(segment, name))
    except msgspec.ValidationError as exc:
        raise InvalidToken(f"token {name}: {exc}") from None
    except msgspec.DecodeError:
        raise InvalidToken(f"token {name} is not JSON") from None
