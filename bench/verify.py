"""Token verification alone, in-process, through the front end's own verifier (one task, one pinned core).

The verifier remembers tokens it has verified (clients present one token for its lifetime), so
`cold` turns that off in this process: every call then checks a signature, which is what the
goal is about; the remembered path is measured too, as the common case. The baseline,
`token-verify-raw`, is `cryptography`'s signature check alone on the same tokens with the same
key objects: what any verifier must pay, so the difference is the verifier's own work.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.generator import Client

if TYPE_CHECKING:
    from auth_service.frontend import FrontEnd


def verify_cpu() -> int:
    """The last core this process may run on: the one the verifier gets to itself."""
    return max(os.sched_getaffinity(0))


@dataclass(frozen=True)
class VerifyTokens:
    directory: Path
    region: str
    tokens: tuple[str, ...]
    cold: bool

    async def open(self, tasks: int) -> Client:
        from auth_service.bootstrap import bootstrap
        from auth_service.frontend import FrontEndConfig

        frontend = bootstrap(FrontEndConfig(region=self.region, directory=self.directory))
        if self.cold:
            frontend.services.verifier.cache_size = 0
        return _Verifier(frontend, self.tokens)


class _Verifier:
    """Cycles through the tokens of several applications."""

    def __init__(self, frontend: FrontEnd, tokens: tuple[str, ...]) -> None:
        self.frontend = frontend
        self.tokens = tokens
        self.calls = 0

    async def call(self, task: int) -> str | None:
        self.calls += 1
        self.frontend.services.verifier.verify_access(self.tokens[self.calls % len(self.tokens)])
        return None

    async def close(self) -> None:
        await self.frontend.close()


@dataclass(frozen=True)
class RawVerify:
    """The same tokens' signatures checked by `cryptography` alone, signing input and key prepared once."""

    directory: Path
    region: str
    tokens: tuple[str, ...]

    async def open(self, tasks: int) -> Client:
        from auth_service.bootstrap import bootstrap
        from auth_service.frontend import FrontEndConfig

        frontend = bootstrap(FrontEndConfig(region=self.region, directory=self.directory))
        checks = [_raw_check(frontend, token) for token in self.tokens]
        await frontend.close()
        return _RawVerifier(checks)


Check = tuple[Callable[[bytes, bytes], None], bytes, bytes]


def _raw_check(frontend: FrontEnd, token: str) -> Check:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    header, payload, signature = token.split(".")
    kid = json.loads(_unb64(header))["kid"]
    key = frontend.services.keys.verification_key(kid)
    assert key is not None, f"no live key {kid}"
    public = key.public_key
    raw = _unb64(signature)
    if isinstance(public, rsa.RSAPublicKey):
        rsa_key = public

        def verify(sig: bytes, data: bytes) -> None:
            rsa_key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())

        return verify, raw, f"{header}.{payload}".encode()
    ec_key = public
    half = len(raw) // 2
    der = encode_dss_signature(int.from_bytes(raw[:half]), int.from_bytes(raw[half:]))

    def verify_ec(sig: bytes, data: bytes) -> None:
        ec_key.verify(sig, data, ec.ECDSA(hashes.SHA256()))

    return verify_ec, der, f"{header}.{payload}".encode()


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class _RawVerifier:
    def __init__(self, checks: list[Check]) -> None:
        self.checks = checks
        self.calls = 0

    async def call(self, task: int) -> str | None:
        self.calls += 1
        verify, signature, signing_input = self.checks[self.calls % len(self.checks)]
        verify(signature, signing_input)
        return None

    async def close(self) -> None:
        pass
