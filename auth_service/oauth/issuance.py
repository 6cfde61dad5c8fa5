"""What a grant hands back: the token response of a user or of an application.

One place decides a token's contents (a user's scopes by their role, an application's
app roles) whichever grant asked, so no grant can issue a wider token than another.
"""

from __future__ import annotations

import uuid
from typing import Any

from auth_service.oauth.id_tokens import IdTokenIssuer
from auth_service.oauth.permissions import ADMIN_SCOPES, USER_SCOPES
from auth_service.oauth.tokens import TokenIssuer
from corestore.directory.app_roles import role_values
from corestore.directory.applications import AppSignIn
from corestore.objects import User


class Issuance:
    def __init__(self, tokens: TokenIssuer, id_tokens: IdTokenIssuer) -> None:
        self.tokens = tokens
        self.id_tokens = id_tokens

    @property
    def refresh_lifetime_s(self) -> int:
        return self.tokens.refresh_lifetime_s

    def user_tokens(self, tenant_id: uuid.UUID, user: User, client_id: str | None) -> dict[str, Any]:
        scopes = ADMIN_SCOPES if user.admin else USER_SCOPES
        access = self.tokens.issue_access(
            tenant_id=tenant_id, object_id=user.id, subject=str(user.id), scopes=scopes, client_id=client_id
        )
        refresh = self.tokens.issue_refresh(tenant_id=tenant_id, object_id=user.id, client_id=client_id)
        return {
            "token_type": "Bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.tokens.lifetime_s,
            "scope": " ".join(scopes),
        }

    def app_tokens(self, tenant_id: uuid.UUID, app: AppSignIn) -> dict[str, Any]:
        """An application's token: `roles` are exactly the app roles assigned to it (maybe none)."""
        access = self.tokens.issue_access(
            tenant_id=tenant_id,
            object_id=app.principal.id,
            subject=str(app.principal.id),
            roles=role_values(app.app_role_ids),
            client_id=str(app.principal.app_id),
        )
        return {"token_type": "Bearer", "access_token": access, "expires_in": self.tokens.lifetime_s}
