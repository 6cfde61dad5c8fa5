"""The server-rendered pages of the sign-in flow: the form, errors, signed out, form_post.

Every value is HTML-escaped; pages may not be framed and are never cached; the one
script (form_post's auto-submit) is allowed by its hash alone.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from html import escape

from fastapi.responses import HTMLResponse

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
STYLE = (
    "body{font-family:sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}"
    "label,input,button{display:block;width:100%;margin:.3rem 0}input,button{padding:.5rem}"
    ".error{color:#a4262c}"
)


AUTO_SUBMIT = "document.forms[0].submit();"
AUTO_SUBMIT_HASH = base64.b64encode(hashlib.sha256(AUTO_SUBMIT.encode()).digest()).decode()


def _hidden(values: Mapping[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in values.items())


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style>'
        f"</head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def sign_in_form(
    action: str, hidden: Mapping[str, str], username: str = "", error: str | None = None
) -> HTMLResponse:
    fields = _hidden({k: v for k, v in hidden.items() if v})
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "Sign in",
        f'{alert}<form method="post" action="{escape(action)}">{fields}'
        '<label for="username">Username</label>'
        f'<input id="username" name="username" autocomplete="username" required value="{escape(username)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        '<button id="sign-in" type="submit">Sign in</button></form>',
    )


def error_page(message: str, status: int = 400) -> HTMLResponse:
    """For requests we must not redirect back from (an unknown client, an unregistered URI)."""
    return _page("Sign-in error", f'<p class="error" role="alert">{escape(message)}</p>', status)


def signed_out() -> HTMLResponse:
    return _page("Signed out", "<p>You have signed out. You can close this window.</p>")


def form_post(redirect_uri: str, values: Mapping[str, str]) -> HTMLResponse:
    """OAuth 2.0 Form Post Response Mode: the browser posts the response to the client."""
    page = _page(
        "Signing in",
        f'<form method="post" action="{escape(redirect_uri)}">{_hidden(values)}'
        '<button type="submit">Continue</button></form>'
        f"<script>{AUTO_SUBMIT}</script>",
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'sha256-{AUTO_SUBMIT_HASH}'; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'"
    )
    return page
