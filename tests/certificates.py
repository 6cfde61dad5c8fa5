"""Self-signed certificates for the certificate-credential tests: what `openssl req -x509` makes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@cache
def rsa_key(which: int = 0) -> rsa.RSAPrivateKey:
    """A 2048-bit key per `which`, made once per test session (key generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(
    key: rsa.RSAPrivateKey,
    name: str = "app",
    *,
    starts: datetime | None = None,
    lifetime: timedelta = timedelta(days=30),
) -> x509.Certificate:
    start = starts or datetime.now(UTC) - timedelta(minutes=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + lifetime)
        .sign(key, hashes.SHA256())
    )


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def graph_key(cert: x509.Certificate, display_name: str | None = None) -> dict[str, str]:
    """The certificate as Graph's keyCredential takes it."""
    key = {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(der(cert)).decode()}
    return key if display_name is None else {**key, "displayName": display_name}


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def sha1_hex(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA1()).hex().upper()
