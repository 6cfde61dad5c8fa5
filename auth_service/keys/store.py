"""Key rings on disk: one file per cloud, `<directory>/<cloud>.json`, shared by every process.

Written atomically (mode 0600) under an exclusive lock; each write moves the file's
mtime strictly forward, so every reader's stamp changes and it reloads.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from auth_service.keys.ring import Clock, KeyRing, RingPolicy, Stamp
from auth_service.keys.rotation import Keys
from auth_service.keys.signing import KeyState, SigningKey, generate_key
from scale_units.model.geography import Cloud

FILE_VERSION = 1


class KeyFile:
    """One cloud's keys on disk: replaced atomically (mode 0600), changed under an exclusive lock."""

    def __init__(self, directory: Path, cloud: Cloud) -> None:
        self.path = directory / f"{cloud.value}.json"
        self.cloud = cloud

    def stamp(self) -> Stamp | None:
        try:
            return _stamp(os.stat(self.path))
        except FileNotFoundError:
            return None

    def read(self) -> tuple[Keys, Stamp] | None:
        try:
            with open(self.path, "rb") as f:
                stamp, raw = _stamp(os.fstat(f.fileno())), f.read()
        except FileNotFoundError:
            return None
        return self._parse(raw), stamp

    def _parse(self, raw: bytes) -> Keys:
        try:
            data = json.loads(raw)
            if data["version"] != FILE_VERSION or data["cloud"] != self.cloud.value:
                raise ValueError(f"version {data['version']!r} of cloud {data['cloud']!r}")
            return tuple(SigningKey.from_json(k) for k in data["keys"])
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"{self.path} is not a {self.cloud.value} key file ({exc})") from None

    def write(self, keys: Keys) -> Stamp:
        """Replace the file; its mtime strictly increases so every reader's stamp changes."""
        body = {"version": FILE_VERSION, "cloud": self.cloud.value, "keys": [k.to_json() for k in keys]}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(json.dumps(body, indent=2).encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            previous = self.stamp()
            mtime = max(time.time_ns(), previous[1] + 1 if previous else 0)
            os.utime(tmp, ns=(mtime, mtime))
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        stamp = self.stamp()
        assert stamp is not None
        return stamp

    @contextmanager
    def locked(self) -> Iterator[None]:
        fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _stamp(st: os.stat_result) -> Stamp:
    return st.st_ino, st.st_mtime_ns, st.st_size


class KeyStore:
    """Every cloud's key file in one directory, `<directory>/<cloud>.json`, created on first use."""

    def __init__(self, directory: Path, policy: RingPolicy | None = None, clock: Clock = time.time) -> None:
        self.directory = directory
        self.policy = policy or RingPolicy()
        self._clock = clock
        self._rings: dict[Cloud, KeyRing] = {}

    def ring(self, cloud: Cloud) -> KeyRing:
        ring = self._rings.get(cloud)
        if ring is None:
            ring = self._rings[cloud] = self._open(cloud)
        return ring

    def _open(self, cloud: Cloud) -> KeyRing:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        file = KeyFile(self.directory, cloud)
        with file.locked():
            loaded = file.read()
            if loaded is None:
                keys = (generate_key(self.policy.algorithm, self._clock(), KeyState.ACTIVE),)
                loaded = keys, file.write(keys)
        return KeyRing(cloud, loaded[0], self.policy, file=file, stamp=loaded[1], clock=self._clock)
