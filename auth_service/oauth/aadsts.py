"""Entra's AADSTS error codes that this front end answers with: each code's text, here only.

Where one code covers several causes (the PKCE checks, a grant issued to someone else),
the cause follows the code's text: clients and the metrics key on the code, a person
reads the cause.
"""

from __future__ import annotations

TEXTS = {
    50011: "The redirect URI in the request does not match the redirect URIs registered for the client.",
    50027: "JWT token is invalid or malformed.",
    50053: "Your account is locked because of too many failed sign-ins. Try again later.",
    50057: "The user account is disabled or no longer exists.",
    50058: "The user must sign in.",
    50126: "Error validating credentials due to invalid username or password.",
    50148: "The authorization code cannot be redeemed with what was presented.",
    50173: (
        "The provided grant has expired due to it being revoked, a fresh auth token is needed."
        " The user might have changed or reset their password."
    ),
    70000: "The grant was issued to another client or tenant.",
    70008: "The provided authorization code or refresh token has expired or was already used.",
    70043: "The refresh token was already used; every token of its sign-in is now revoked.",
    90002: "Tenant not found.",
    501491: "The code_challenge must be a base64url SHA-256, with code_challenge_method S256.",
    700016: "Application was not found in the directory.",
    700021: "Client assertion application identifier doesn't match 'client_id' parameter.",
    700023: "Client assertion audience claim does not match Realm issuer.",
    700024: "Client assertion is not within its valid time range.",
    700027: "Client assertion failed signature validation.",
    700054: "response_type must be 'code'.",
    900144: "response_mode must be query, fragment or form_post.",
    7000112: "Application is disabled.",
    7000215: "Invalid client secret provided.",
    7000218: "A client_secret is required for this client.",
    9002325: "Proof Key for Code Exchange is required.",
}


def aadsts(code: int, cause: str | None = None) -> str:
    """`AADSTS{code}: {text}`, and the cause in parentheses when the code has several."""
    text = f"AADSTS{code}: {TEXTS[code]}"
    return text if cause is None else f"{text} ({cause})"


INVALID_CREDENTIALS = aadsts(50126)
LOCKED = aadsts(50053)
BAD_CODE = aadsts(70008)
REPLAYED = aadsts(70043)
REVOKED = aadsts(50173)
SECRET_REQUIRED = aadsts(7000218)
BAD_SECRET = aadsts(7000215)
