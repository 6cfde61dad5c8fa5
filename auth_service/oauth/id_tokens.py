"""OpenID Connect ID tokens: who signed in, for the client that asked (`aud` = its client id).

Signed by the same key ring as access tokens, so the same JWKS verifies them. `sub`
is pairwise (one user looks different to each application, as in Entra); `oid` and
`tid` are the same for all. An ID token is never accepted as an access token: its
audience is a client id, not the API.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from auth_service.errors import InvalidToken
from auth_service.keys.ring import KeyRing
from auth_service.oauth.tokens import VERSION, Clock, issuer_for
from corestore.objects import User
from scale_units.model.geography import Cloud

ID_TOKEN_LIFETIME_S = 3600


def pairwise_subject(client_id: str, object_id: uuid.UUID) -> str:
    digest = hashlib.sha256(f"{client_id}:{object_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class IdTokenHint:
    """What a (possibly expired) ID token we issued says: enough to end that client's sign-in."""

    object_id: uuid.UUID
    client_id: str


class IdTokenIssuer:
    def __init__(self, ring: KeyRing, cloud: Cloud, clock: Clock = time.time) -> None:
        self.ring = ring
        self.cloud = cloud
        self._clock = clock

    def issue(self, tenant_id: uuid.UUID, user: User, client_id: str, nonce: str | None) -> str:
        self.ring.poll()
        signer = self.ring.signer()
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": issuer_for(self.cloud, tenant_id),
            "aud": client_id,
            "sub": pairwise_subject(client_id, user.id),
            "iat": now,
            "nbf": now,
            "exp": now + ID_TOKEN_LIFETIME_S,
            "oid": str(user.id),
            "tid": str(tenant_id),
            "preferred_username": user.user_principal_name,
            "name": user.display_name,
            "ver": VERSION,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if user.mail:
            claims["email"] = user.mail
        headers = {"kid": signer.kid, "typ": "JWT"}
        return jwt.encode(claims, signer.private_key, algorithm=signer.algorithm.value, headers=headers)

    def read_hint(self, token: str, tenant_id: uuid.UUID) -> IdTokenHint:
        """An `id_token_hint`: our signature and issuer for this tenant; expiry does not matter."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            self.ring.poll()
            key = self.ring.verification_key(kid) if isinstance(kid, str) else None
            if key is None:
                raise InvalidToken("id_token_hint: unknown signing key")
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=[key.algorithm.value],
                issuer=issuer_for(self.cloud, tenant_id),
                options={"verify_exp": False, "verify_aud": False, "require": ["aud", "oid", "tid"]},
            )
            client_id, object_id = str(uuid.UUID(claims["aud"])), uuid.UUID(claims["oid"])
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
            raise InvalidToken("id_token_hint is not an ID token of this tenant") from None
        return IdTokenHint(object_id, client_id)
