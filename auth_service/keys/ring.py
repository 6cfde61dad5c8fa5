"""One cloud's key ring: its keys in memory, each parsed once, synced through a file.

Each cloud has its own ring and file: a key of one cloud never verifies another
cloud's tokens. Processes share a ring through its file and notice changes by stat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from auth_service.keys import rotation
from auth_service.keys.rotation import Keys
from auth_service.keys.signing import (
    Algorithm,
    KeyState,
    Signer,
    SigningKey,
    VerificationKey,
    generate_key,
    load_signer,
    load_verification,
)
from scale_units.model.geography import Cloud

log = logging.getLogger(__name__)
Clock = Callable[[], float]
Stamp = tuple[int, int, int]  # inode, mtime (ns), size: how a ring notices its file changed


class RingFile(Protocol):
    """What a ring needs of its file (`keyfile.KeyFile`): a stamp, a read, a write, a lock."""

    def stamp(self) -> Stamp | None: ...

    def read(self) -> tuple[Keys, Stamp] | None: ...

    def write(self, keys: Keys) -> Stamp: ...

    def locked(self) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class RingPolicy:
    """How a ring rotates and how soon a process sees another process's rotation."""

    algorithm: Algorithm = Algorithm.RS256
    # Relying parties cache JWKS: a new key signs only once published this long.
    min_publish_s: float = 0.0
    # How often `poll` stats the key file; None: never (a ring of this process alone).
    poll_s: float | None = 1.0


class KeyRing:
    """One cloud's keys in memory, each parsed key object cached by kid.

    With a file, every change is read-modify-write under the file's lock, so
    rotations from several processes never lose one another.
    """

    def __init__(
        self,
        cloud: Cloud,
        keys: Iterable[SigningKey],
        policy: RingPolicy | None = None,
        *,
        file: RingFile | None = None,
        stamp: Stamp | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.cloud = cloud
        self.policy = policy or RingPolicy()
        self.generation = 0
        self._keys: Keys = ()
        self._stamp = stamp
        self._file = file
        self._clock = clock
        self._polled_at = time.monotonic()
        self._verification: dict[str, VerificationKey] = {}
        self._signer: Signer | None = None
        self._install(tuple(keys), stamp)

    @classmethod
    def create(cls, cloud: Cloud, policy: RingPolicy | None = None, clock: Clock = time.time) -> KeyRing:
        """An in-memory ring with one active key, shared with no other process."""
        policy = policy or RingPolicy()
        return cls(cloud, [generate_key(policy.algorithm, clock(), KeyState.ACTIVE)], policy, clock=clock)

    @property
    def keys(self) -> Keys:
        return self._keys

    @property
    def active(self) -> SigningKey:
        return next(k for k in self._keys if k.state is KeyState.ACTIVE)

    def key(self, kid: str) -> SigningKey:
        return rotation.find(self._keys, kid)

    def rotate(self, algorithm: Algorithm | None = None) -> SigningKey:
        """Publish a new key: it verifies at once, and signs only once activated."""
        new = generate_key(algorithm or self.policy.algorithm, self._clock())
        self._mutate(lambda keys: (*keys, new))
        return self.key(new.kid)

    def activate(self, kid: str) -> SigningKey:
        """`kid` signs from now on; the previous signer stays published (verifying) until retired."""
        self._mutate(lambda keys: rotation.activated(keys, kid, self._clock(), self.policy.min_publish_s))
        return self.key(kid)

    def activate_due(self) -> SigningKey | None:
        """The timed rule: the newest published key signs once published for `min_publish_s`."""
        before = self.active.kid
        self._mutate(lambda keys: rotation.due(keys, self._clock(), self.policy.min_publish_s))
        return self.active if self.active.kid != before else None

    def retire(self, kid: str) -> SigningKey:
        """Tokens signed by `kid` stop verifying, and it leaves the JWKS; its private key is wiped."""
        self._mutate(lambda keys: rotation.retired(keys, kid, self._clock()))
        return self.key(kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self._keys if k.state is not KeyState.RETIRED]}

    def verification_key(self, kid: str) -> VerificationKey | None:
        """The parsed public key for a published or active `kid`; None for unknown or retired."""
        return self._verification.get(kid)

    def signer(self) -> Signer:
        assert self._signer is not None
        return self._signer

    def reload_if_changed(self) -> bool:
        """Pick up another process's rotation; a missing file keeps the keys in memory."""
        if self._file is None or self._file.stamp() == self._stamp:
            return False
        loaded = self._file.read()
        if loaded is None:
            return False
        self._install(*loaded)
        return True

    def poll(self) -> None:
        """Reload at most every `poll_s` seconds: cheap enough for every request."""
        poll_s = self.policy.poll_s
        if self._file is None or poll_s is None:
            return
        now = time.monotonic()
        if now - self._polled_at < poll_s:
            return
        self._polled_at = now
        try:
            self.reload_if_changed()
        except (OSError, ValueError):
            log.warning("keeping the %s keys in memory: reload failed", self.cloud.value, exc_info=True)

    def _mutate(self, change: Callable[[Keys], Keys]) -> None:
        if self._file is None:
            self._install(change(self._keys), None)
            return
        with self._file.locked():
            loaded = self._file.read()
            current, stamp = loaded if loaded is not None else (self._keys, None)
            keys = change(current)
            if keys != current or stamp is None:
                rotation.check(keys, self.cloud)
                stamp = self._file.write(keys)
            self._install(keys, stamp)

    def _install(self, keys: Keys, stamp: Stamp | None) -> None:
        rotation.check(keys, self.cloud)
        live = [k for k in keys if k.state is not KeyState.RETIRED]
        verification = {k.kid: self._verification.get(k.kid) or load_verification(k) for k in live}
        active = next(k for k in keys if k.state is KeyState.ACTIVE)
        signer = self._signer if self._signer is not None and self._signer.kid == active.kid else None
        self._signer = signer or load_signer(active)
        self._keys, self._verification, self._stamp = keys, verification, stamp
        self.generation += 1
