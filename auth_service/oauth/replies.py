"""OAuth's answers: its JSON errors, a bearer challenge, and the way back to a client's redirect URI."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi.responses import JSONResponse, RedirectResponse, Response

from auth_service.oauth import signin_page


def oauth_error(
    error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def invalid_token(description: str) -> JSONResponse:
    challenge = f'Bearer error="invalid_token", error_description="{description}"'
    return JSONResponse(
        {"error": "invalid_token", "error_description": description},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )


def with_response(uri: str, mode: str, values: dict[str, str]) -> str:
    """The redirect URI with the response added (to its query, or as the fragment)."""
    added = urlencode({k: v for k, v in values.items() if v})
    parts = urlsplit(uri)
    if mode == "fragment":
        return urlunsplit(parts._replace(fragment=added))
    return urlunsplit(parts._replace(query=f"{parts.query}&{added}" if parts.query else added))


def to_client(uri: str, mode: str, values: dict[str, str]) -> Response:
    """Back to the client: a redirect, or (form_post) a page that posts the response to it."""
    if mode == "form_post":
        return signin_page.form_post(uri, {k: v for k, v in values.items() if v})
    return RedirectResponse(with_response(uri, mode, values), status_code=303, headers=signin_page.HEADERS)
