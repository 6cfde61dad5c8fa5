"""Signing keys: published before they sign, verifying until retired, one ring and file per cloud."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from auth_service.errors import InvalidToken
from auth_service.keys.ring import KeyRing, RingPolicy
from auth_service.keys.signing import Algorithm, KeyState
from auth_service.keys.store import KeyStore
from auth_service.oauth.tokens import TokenIssuer, TokenVerifier
from scale_units.model.geography import Cloud

TENANT = uuid.UUID("6f1c1b5e-3c55-4c6a-9f55-0a6bb0f3c001")


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def issue(ring: KeyRing) -> str:
    issuer = TokenIssuer(ring, ring.cloud)
    return issuer.issue_access(tenant_id=TENANT, object_id=TENANT, subject="s", scopes=["User.Read"])


def verify(ring: KeyRing, token: str) -> None:
    TokenVerifier(ring, ring.cloud, cache_size=0).verify_access(token)


def test_a_new_ring_has_one_active_rs256_key_published_without_private_parts() -> None:
    ring = KeyRing.create(Cloud.PUBLIC)
    (key,) = ring.keys
    assert (key.state, key.algorithm) == (KeyState.ACTIVE, Algorithm.RS256)
    (jwk,) = ring.jwks()["keys"]
    assert jwk == {**jwk, "kid": key.kid, "kty": "RSA", "alg": "RS256", "use": "sig"}
    assert "d" not in jwk
    assert "PRIVATE" not in repr(key) + repr(ring.signer())


def test_es256_is_available_as_an_option() -> None:
    ring = KeyRing.create(Cloud.PUBLIC, RingPolicy(Algorithm.ES256))
    (jwk,) = ring.jwks()["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", "P-256", "ES256")
    verify(ring, issue(ring))


def test_rotation_publishes_before_signing_and_old_tokens_verify_until_retired() -> None:
    ring = KeyRing.create(Cloud.PUBLIC)
    old = ring.active
    old_token = issue(ring)
    new = ring.rotate()
    assert new.state is KeyState.PUBLISHED
    assert {k["kid"] for k in ring.jwks()["keys"]} == {old.kid, new.kid}
    assert ring.signer().kid == old.kid, "a just-published key must not sign yet"

    ring.activate(new.kid)
    assert ring.signer().kid == new.kid
    assert ring.key(old.kid).state is KeyState.PUBLISHED
    verify(ring, old_token)
    verify(ring, issue(ring))

    retired = ring.retire(old.kid)
    assert (retired.state, retired.private_pem) == (KeyState.RETIRED, "")
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid]
    with pytest.raises(InvalidToken, match="unknown or retired"):
        verify(ring, old_token)


def test_the_signer_cannot_be_retired_nor_a_retired_key_revived() -> None:
    ring = KeyRing.create(Cloud.PUBLIC)
    first = ring.active
    with pytest.raises(ValueError, match="signer"):
        ring.retire(first.kid)
    ring.activate(ring.rotate().kid)
    ring.retire(first.kid)
    with pytest.raises(ValueError, match="retired"):
        ring.activate(first.kid)
    with pytest.raises(ValueError, match="no key"):
        ring.activate("nope")


def test_a_key_signs_only_after_it_has_been_published_long_enough() -> None:
    clock = Clock()
    ring = KeyRing.create(Cloud.PUBLIC, RingPolicy(min_publish_s=3600), clock)
    first = ring.active
    new = ring.rotate()
    with pytest.raises(ValueError, match="may sign in 3600s"):
        ring.activate(new.kid)
    assert ring.activate_due() is None
    clock.now += 3600
    assert ring.activate_due() == ring.key(new.kid)
    assert ring.signer().kid == new.kid
    assert ring.key(first.kid).state is KeyState.PUBLISHED
    assert ring.activate_due() is None


def test_each_cloud_has_its_own_keys_and_file(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    public, usgov = store.ring(Cloud.PUBLIC), store.ring(Cloud.USGOV)
    assert {k.kid for k in public.keys}.isdisjoint(k.kid for k in usgov.keys)
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["public.json", "usgov.json"]
    with pytest.raises(InvalidToken):
        TokenVerifier(usgov, Cloud.USGOV).verify_access(issue(public))


def test_a_key_file_of_another_cloud_is_refused(tmp_path: Path) -> None:
    KeyStore(tmp_path).ring(Cloud.PUBLIC)
    shutil.copy(tmp_path / "public.json", tmp_path / "china.json")
    with pytest.raises(ValueError, match="not a china key file"):
        KeyStore(tmp_path).ring(Cloud.CHINA)


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    ring = KeyStore(tmp_path / "keys").ring(Cloud.PUBLIC)
    path = tmp_path / "keys" / "public.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert [k["state"] for k in stored["keys"]] == ["active"]
    ring.rotate()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "rewrites keep the mode"
    assert [k.kid for k in KeyStore(tmp_path / "keys").ring(Cloud.PUBLIC).keys] == [k.kid for k in ring.keys]


def test_two_stores_share_keys_and_reload_after_the_other_rotates(tmp_path: Path) -> None:
    mine, theirs = KeyStore(tmp_path), KeyStore(tmp_path)
    ring, other = mine.ring(Cloud.PUBLIC), theirs.ring(Cloud.PUBLIC)
    assert ring.keys == other.keys
    assert not ring.reload_if_changed()

    new = other.rotate()
    assert ring.verification_key(new.kid) is None, "no reload until asked (or polled)"
    assert ring.reload_if_changed()
    assert ring.verification_key(new.kid) is not None

    old = other.active.kid
    other.activate(new.kid)
    token = issue(other)
    assert ring.reload_if_changed()
    verify(ring, token)
    other.retire(old)
    ring.reload_if_changed()
    assert ring.verification_key(old) is None


def test_concurrent_changes_from_two_stores_are_not_lost(tmp_path: Path) -> None:
    a, b = KeyStore(tmp_path).ring(Cloud.PUBLIC), KeyStore(tmp_path).ring(Cloud.PUBLIC)
    first, second = a.rotate(), b.rotate()
    assert {first.kid, second.kid} <= {k.kid for k in KeyStore(tmp_path).ring(Cloud.PUBLIC).keys}


def test_a_rotation_by_another_process_is_picked_up_by_polling(tmp_path: Path) -> None:
    ring = KeyStore(tmp_path, RingPolicy(poll_s=0)).ring(Cloud.PUBLIC)
    verifier = TokenVerifier(ring, Cloud.PUBLIC)
    script = (
        "import sys; from pathlib import Path; from auth_service.keys.store import KeyStore;"
        "from scale_units.model.geography import Cloud;"
        "ring = KeyStore(Path(sys.argv[1])).ring(Cloud.PUBLIC); print(ring.activate(ring.rotate().kid).kid)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    new_kid = done.stdout.strip()
    other = KeyStore(tmp_path).ring(Cloud.PUBLIC)
    assert other.signer().kid == new_kid
    assert verifier.verify_access(issue(other)).tenant_id == TENANT
    assert ring.signer().kid == new_kid
