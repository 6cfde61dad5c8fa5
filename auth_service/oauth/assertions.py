"""Client authentication by a signed assertion (RFC 7523's jwt-bearer client assertion).

As Entra checks it: RS256 or PS256, signed by a certificate registered on the application
and valid now, named by `x5t` (its SHA-1 thumbprint) or `x5t#S256`; `aud` this token
endpoint; `iss` and `sub` the client id; `exp` (and `nbf` if present) within a short
lifetime; and, beyond what Entra enforces, a `jti` accepted once (the memory is the
tenant's, so every front end refuses a replay). Every refusal is an `InvalidClient`
with Entra's code; nothing here raises anything else.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from auth_service.errors import InvalidClient
from auth_service.oauth.aadsts import aadsts
from corestore.directory.applications import AppSignIn
from corestore.directory.key_credentials import load_certificate
from corestore.errors import InvalidRequest
from corestore.session import TenantSession

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "PS256")
LEEWAY = timedelta(minutes=5)  # clock skew between the client and us, as Entra allows
MAX_LIFETIME = timedelta(minutes=10)  # what MSAL asks for (its assertions live 600 s)
MAX_JTI = 256
REQUIRED = ["exp", "aud", "iss", "sub", "jti"]


def _thumbprint(header: dict[str, Any]) -> tuple[hashes.HashAlgorithm, bytes]:
    """The hash and the thumbprint the header names the certificate by (`x5t#S256` first)."""
    for name, algorithm, size in (("x5t#S256", hashes.SHA256(), 32), ("x5t", hashes.SHA1(), 20)):  # noqa: S303
        value = header.get(name)
        if value is None:
            continue
        try:
            raw = base64.urlsafe_b64decode(str(value) + "=" * (-len(str(value)) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != size:
            raise InvalidClient(aadsts(700027, f"{name} is not a base64url thumbprint"))
        return algorithm, raw
    raise InvalidClient(aadsts(700027, "the assertion names no certificate: x5t or x5t#S256 is required"))


def _find(
    certificates: tuple[bytes, ...], algorithm: hashes.HashAlgorithm, thumbprint: bytes
) -> x509.Certificate:
    for der in certificates:
        try:
            certificate = load_certificate(der)
        except InvalidRequest:
            continue
        if hmac.compare_digest(certificate.fingerprint(algorithm), thumbprint):
            now = datetime.now(UTC)
            if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
                raise InvalidClient(aadsts(700027, "the key used is expired or not yet valid"))
            return certificate
    raise InvalidClient(aadsts(700027, f"the key was not found; thumbprint {thumbprint.hex().upper()}"))


def _claims(
    assertion: str, certificate: x509.Certificate, algorithm: str, client: str, audiences: tuple[str, ...]
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            certificate.public_key(),  # type: ignore[arg-type]  # RSA, checked when it was registered
            algorithms=[algorithm],
            audience=list(audiences),
            issuer=client,
            leeway=LEEWAY,
            options={"require": REQUIRED},
        )
    except jwt.InvalidSignatureError:
        raise InvalidClient(aadsts(700027, "the signature does not verify with the certificate")) from None
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
        raise InvalidClient(aadsts(700024)) from None
    except jwt.InvalidAudienceError:
        raise InvalidClient(aadsts(700023, f"aud must be {audiences[0]}")) from None
    except jwt.InvalidIssuerError:
        raise InvalidClient(aadsts(700021, "iss must be the client id")) from None
    except jwt.PyJWTError as exc:
        raise InvalidClient(aadsts(50027, str(exc))) from None
    if claims["sub"] != client:
        raise InvalidClient(aadsts(700021, "sub must be the client id"))
    if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= MAX_JTI:
        raise InvalidClient(aadsts(50027, f"jti must be a string of at most {MAX_JTI} characters"))
    return claims


async def authenticate_assertion(
    session: TenantSession, client_id: str | None, assertion: str, audiences: tuple[str, ...]
) -> AppSignIn:
    """The application whose certificate signed `assertion`, once per `jti`; else `InvalidClient`."""
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidClient(aadsts(50027, "the client assertion is not a JWT")) from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise InvalidClient(aadsts(700027, f"alg must be one of {', '.join(ALGORITHMS)}"))
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or (client_id is not None and issuer != client_id):
        raise InvalidClient(aadsts(700021))
    found = await session.applications.certificates(issuer)
    if found is None:
        raise InvalidClient(aadsts(700016))
    sign_in, certificates = found
    certificate = _find(certificates, *_thumbprint(header))
    claims = _claims(assertion, certificate, algorithm, issuer, audiences)
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    if expires - datetime.now(UTC) > MAX_LIFETIME + LEEWAY:
        raise InvalidClient(aadsts(700024, f"an assertion may live {MAX_LIFETIME.seconds // 60} minutes"))
    if sign_in is None:
        raise InvalidClient(aadsts(7000112))
    if not await session.client_assertions.first_use(issuer, claims["jti"], expires + LEEWAY):
        raise InvalidClient(aadsts(50027, "the assertion's jti was already used: an assertion is used once"))
    return sign_in
