"""The local cluster's TLS: one CA, made at `cluster up`, and a certificate per front end.

A front end runs per region, so each region gets its own certificate (for the
loopback names it listens on). Clients trust the CA alone: `ca.pem`, which
`cluster status --json` names as `ca_bundle`. trustme makes and signs them; the CA's
key stays in the state directory (mode 0600), so a later `up` can issue
certificates for regions a topology adds, and a second `up` changes nothing.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import trustme

from scale_units.errors import ClusterError

TLS_DIR = "tls"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ServerCertificate:
    """What a front end serves with: its certificate (then the CA's) and its private key."""

    certfile: Path
    keyfile: Path


def ca_bundle(directory: Path) -> Path:
    return directory / TLS_DIR / "ca.pem"


def trust(directory: Path) -> ssl.SSLContext:
    """A client context that trusts the cluster's CA, and nothing else."""
    return ssl.create_default_context(cafile=ca_bundle(directory))


def _paths(directory: Path, region: str) -> ServerCertificate:
    return ServerCertificate(directory / TLS_DIR / f"{region}.pem", directory / TLS_DIR / f"{region}.key")


def server_certificate(directory: Path, region: str) -> ServerCertificate:
    found = _paths(directory, region)
    if not (found.certfile.exists() and found.keyfile.exists()):
        raise ClusterError(f"no TLS certificate for region {region!r} in {directory} (run `cluster up`)")
    return found


def provision(directory: Path, regions: Iterable[str]) -> None:
    """The CA (made once) and a certificate for every region that has none yet."""
    folder = directory / TLS_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key = folder / "ca.key"
    if ca_bundle(directory).exists() and ca_key.exists():
        ca = trustme.CA.from_pem(ca_bundle(directory).read_bytes(), ca_key.read_bytes())
    else:
        ca = trustme.CA(organization_name="Core Store local cluster")
        _write(ca_key, ca.private_key_pem.bytes())
        _write(ca_bundle(directory), ca.cert_pem.bytes())
    for region in regions:
        paths = _paths(directory, region)
        if paths.certfile.exists() and paths.keyfile.exists():
            continue
        leaf = ca.issue_cert(*LOOPBACK_NAMES, common_name=f"corestore front end {region}")
        _write(paths.keyfile, leaf.private_key_pem.bytes())
        _write(paths.certfile, b"".join(blob.bytes() for blob in leaf.cert_chain_pems))


def _write(path: Path, data: bytes) -> None:
    """Atomically, readable by its owner only (keys, and certificates beside them)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
