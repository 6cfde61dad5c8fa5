"""What OIDC discovery says about the authorization-code flow, userinfo and sign-out."""

from __future__ import annotations

import uuid
from typing import Any

from auth_service.keys.ring import KeyRing

CLAIMS = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "oid",
    "tid",
    "preferred_username",
    "name",
    "email",
]


def algorithms(ring: KeyRing) -> list[str]:
    """The signing algorithms of the ring's live keys, as discovery lists them."""
    return sorted({k["alg"] for k in ring.jwks()["keys"]})


def oidc_metadata(base: str, tenant_id: uuid.UUID, algorithms: list[str]) -> dict[str, Any]:
    """The discovery document's entries for this flow (merged into the token endpoint's)."""
    return {
        "authorization_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/authorize",
        "end_session_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/logout",
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": CLAIMS,
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": algorithms,
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "request_uri_parameter_supported": False,
    }
