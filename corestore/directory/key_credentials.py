"""An application's certificate credentials (Graph's keyCredentials, RFC 7523 client assertions).

A certificate is checked before anything is written: DER X.509, an RSA key of 2048 bits
or more (what RS256 and PS256 sign with), not expired. Its SHA-1 thumbprint and its
validity come from the certificate, never from the caller. Writing an application's
keys replaces them all, as Graph's PATCH does: a key given by its id alone (no
certificate) is kept as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from corestore.errors import InvalidRequest
from corestore.objects import KeyCredential
from corestore.pools import Connection

MAX_KEYS = 16
MAX_CERTIFICATE_BYTES = 16384
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class KeyInput:
    """A key as a caller gives it: a certificate (DER), or the id of a key to keep."""

    certificate: bytes | None = None
    key_id: uuid.UUID | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class CheckedKey:
    key_id: uuid.UUID
    display_name: str
    thumbprint: bytes
    certificate: bytes
    start_at: datetime
    end_at: datetime


def load_certificate(der: bytes) -> x509.Certificate:
    """The certificate `der` holds, or InvalidRequest saying why not."""
    if len(der) > MAX_CERTIFICATE_BYTES:
        raise InvalidRequest(f"a certificate is at most {MAX_CERTIFICATE_BYTES} bytes")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise InvalidRequest("key must be an X.509 certificate, base64 DER") from None


def _checked(given: KeyInput, now: datetime) -> CheckedKey:
    assert given.certificate is not None
    certificate = load_certificate(given.certificate)
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < MIN_RSA_BITS:
        raise InvalidRequest(f"the certificate's key must be RSA of at least {MIN_RSA_BITS} bits")
    if certificate.not_valid_after_utc <= now:
        raise InvalidRequest("the certificate has expired")
    if certificate.not_valid_before_utc >= certificate.not_valid_after_utc:
        raise InvalidRequest("the certificate's validity period is empty")
    name = given.display_name or certificate.subject.rfc4514_string() or "certificate"
    if len(name) > 256:
        raise InvalidRequest("displayName is at most 256 characters")
    return CheckedKey(
        given.key_id or uuid.uuid4(),
        name,
        certificate.fingerprint(hashes.SHA1()),  # noqa: S303 - x5t is SHA-1 by definition (RFC 7515)
        given.certificate,
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
    )


def check_keys(keys: object) -> tuple[KeyInput | CheckedKey, ...]:
    """Every key of a write checked (new certificates parsed), before anything is written."""
    if not isinstance(keys, Sequence) or not all(isinstance(k, KeyInput) for k in keys):
        raise InvalidRequest("key_credentials must be a list of KeyInput")
    if len(keys) > MAX_KEYS:
        raise InvalidRequest(f"an application has at most {MAX_KEYS} certificates")
    now = datetime.now(UTC)
    checked: list[KeyInput | CheckedKey] = []
    for given in keys:
        if given.certificate is None and given.key_id is None:
            raise InvalidRequest("a key credential needs its key (a certificate) or the keyId of one to keep")
        checked.append(given if given.certificate is None else _checked(given, now))
    thumbprints = [k.thumbprint for k in checked if isinstance(k, CheckedKey)]
    ids = [k.key_id for k in checked]
    if len(set(thumbprints)) != len(thumbprints) or len(set(ids)) != len(ids):
        raise InvalidRequest("the same certificate or keyId is given twice")
    return tuple(checked)


async def replace_keys(
    conn: Connection, tenant: uuid.UUID, application_id: uuid.UUID, keys: Sequence[KeyInput | CheckedKey]
) -> None:
    """In the caller's transaction, which holds the application's row (its update): the application's
    keys become `keys` (checked by `check_keys`)."""
    rows = await conn.fetch(
        "SELECT id, thumbprint FROM key_credentials WHERE tenant_id = $1 AND application_id = $2",
        tenant,
        application_id,
    )
    existing = {r["id"]: bytes(r["thumbprint"]) for r in rows}
    kept = [k.key_id for k in keys if isinstance(k, KeyInput)]
    unknown = [str(k) for k in kept if k not in existing]
    if unknown:
        raise InvalidRequest(f"no key credential {', '.join(unknown)} on this application")
    new = [k for k in keys if isinstance(k, CheckedKey)]
    if {existing[k] for k in kept if k is not None} & {k.thumbprint for k in new}:
        raise InvalidRequest("the application already has this certificate")
    await conn.execute(
        "DELETE FROM key_credentials WHERE tenant_id = $1 AND application_id = $2 AND id <> ALL($3::uuid[])",
        tenant,
        application_id,
        kept,
    )
    await conn.executemany(
        "INSERT INTO key_credentials (tenant_id, id, application_id, display_name, thumbprint, certificate,"
        " start_at, end_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (
                tenant,
                k.key_id,
                application_id,
                k.display_name,
                k.thumbprint,
                k.certificate,
                k.start_at,
                k.end_at,
            )
            for k in new
        ],
    )


def listed(extra: Any) -> tuple[KeyCredential, ...]:
    """The keys an application read carries (`extra.keyCredentials`, directory_0010)."""
    return tuple(
        KeyCredential(
            uuid.UUID(k["keyId"]),
            k["displayName"],
            bytes.fromhex(k["thumbprint"]),
            datetime.fromisoformat(k["startDateTime"]),
            datetime.fromisoformat(k["endDateTime"]),
        )
        for k in extra or ()
    )
