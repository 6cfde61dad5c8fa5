"""The sign-in form's CSRF defence: a signed double-submit token, with no state on the server.

The page sets a random value in a `__Host-` cookie (Secure, HttpOnly, SameSite=Strict,
so another site can neither read nor send it) and puts into the form an HMAC of that
value and of the authorization request the form carries. A post is accepted only if
its token matches its own cookie and its own parameters: a forged form from another
site has no cookie to match, and a replayed token does not fit altered parameters.
Every front end of the cluster derives the same key, so any of them accepts the post.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

COOKIE = "__Host-corestore-signin"


class CsrfGuard:
    def __init__(self, cluster_secret: str) -> None:
        self._key = hashlib.sha256(b"corestore sign-in form\0" + cluster_secret.encode()).digest()

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    def token(self, cookie: str, bound: Mapping[str, str]) -> str:
        message = "\0".join([cookie, *(f"{k}={bound[k]}" for k in sorted(bound))])
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def check(self, cookie: str | None, bound: Mapping[str, str], token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(self.token(cookie, bound), token)
