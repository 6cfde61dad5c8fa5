"""The rotation rules: a ring's keys go published -> active -> retired, exactly one active.

A new key is published (in JWKS, verifies) before it signs, and the key it replaces
keeps verifying until it is retired, so a rotation never refuses a token in flight.
Pure functions from keys to keys; `keyring` applies them, under the file's lock.
"""

from __future__ import annotations

from dataclasses import replace

from auth_service.keys.signing import KeyState, SigningKey, thumbprint
from scale_units.model.geography import Cloud

Keys = tuple[SigningKey, ...]


def find(keys: Keys, kid: str) -> SigningKey:
    for key in keys:
        if key.kid == kid:
            return key
    raise ValueError(f"no key {kid!r} in this ring")


def check(keys: Keys, cloud: Cloud) -> None:
    active = sum(1 for k in keys if k.state is KeyState.ACTIVE)
    if active != 1:
        raise ValueError(f"the {cloud.value} ring must have exactly one active key, not {active}")
    if len({k.kid for k in keys}) != len(keys):
        raise ValueError(f"the {cloud.value} ring has duplicate kids")
    for key in keys:
        if key.kid != thumbprint(key.public_jwk):
            raise ValueError(f"key {key.kid!r} is not named by its thumbprint")


def activated(keys: Keys, kid: str, now: float, min_publish_s: float) -> Keys:
    key = find(keys, kid)
    if key.state is KeyState.ACTIVE:
        return keys
    if key.state is KeyState.RETIRED:
        raise ValueError(f"key {kid} is retired; rotate to publish a new one")
    if now - key.created_at < min_publish_s:
        wait = min_publish_s - (now - key.created_at)
        raise ValueError(f"key {kid} may sign in {wait:.0f}s, once relying parties have seen it published")
    return tuple(
        replace(k, state=KeyState.ACTIVE, activated_at=now)
        if k.kid == kid
        else replace(k, state=KeyState.PUBLISHED)
        if k.state is KeyState.ACTIVE
        else k
        for k in keys
    )


def due(keys: Keys, now: float, min_publish_s: float) -> Keys:
    """Activate the newest key published after the signer, once published long enough."""
    after = keys[[k.state for k in keys].index(KeyState.ACTIVE) + 1 :]
    ready = [k for k in after if k.state is KeyState.PUBLISHED and now - k.created_at >= min_publish_s]
    return activated(keys, ready[-1].kid, now, min_publish_s) if ready else keys


def retired(keys: Keys, kid: str, now: float) -> Keys:
    key = find(keys, kid)
    if key.state is KeyState.ACTIVE:
        raise ValueError(f"key {kid} is the signer; activate another key before retiring it")
    if key.state is KeyState.RETIRED:
        return keys
    gone = replace(key, state=KeyState.RETIRED, retired_at=now, private_pem="")
    return tuple(gone if k.kid == kid else k for k in keys)
