"""One error hierarchy for the front end; `http_errors` maps each kind to an HTTP status once."""

from __future__ import annotations

from auth_service.oauth.aadsts import INVALID_CREDENTIALS


class AuthError(Exception):
    """Base of every error raised by `auth_service`."""


class InvalidToken(AuthError):
    """A token failed verification; the message says why, but every cause is the same 401."""


class InvalidGrant(AuthError):
    """Credentials were refused.

    The default message is the only one a failed sign-in uses, so the answer does
    not tell whether the user exists.
    """

    def __init__(self, message: str = INVALID_CREDENTIALS) -> None:
        super().__init__(message)


class InvalidClient(AuthError):
    """Client authentication failed (OAuth `invalid_client`): a wrong, missing or expired secret."""


class AccountLocked(AuthError):
    """Too many recent failures for this account; try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"account locked; retry after {retry_after:.0f}s")
        self.retry_after = retry_after


class Forbidden(AuthError):
    """A valid token that lacks the permission the operation needs (403, not 401)."""


class BadRequest(AuthError):
    """A request the front end itself refuses (a header, an ETag, a skip token it never issued)."""


class SyncStateNotFound(BadRequest):
    """A delta token this API can no longer honour: the client starts a full round again."""


class ServedElsewhere(AuthError):
    """A tenant of another geo: this front end processes none of it (421, naming where to go)."""
