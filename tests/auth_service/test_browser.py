"""A real browser completes the sign-in page: Debian's Chromium, driven by Playwright.

The browser trusts the front end's certificate by its public key pin alone
(`--ignore-certificate-errors-spki-list`), not by ignoring certificate errors. The
client's redirect URI is answered inside the browser (no server runs there), where
the test reads the code, then redeems it with its PKCE verifier like the client would.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Route, sync_playwright

from devtools.process import FrontEndProcess
from scale_units.local.tls import server_certificate
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD
from tests.auth_service.signin_flow import (
    SPA_CALLBACK,
    RegisteredApp,
    authorize_url,
    pkce,
)

CHROMIUM = Path("/usr/bin/chromium")
# The machine's closed network otherwise floods a new Chromium with refused connections.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium: installed here when we are root, else the test says what it needs."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.skip("needs Debian's chromium package (apt-get install chromium); not root to install it")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"], check=True, env=env, stdout=subprocess.DEVNULL
        )
    return CHROMIUM


def spki_pin(certfile: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the server's own certificate (the first in its file)."""
    certificate = x509.load_pem_x509_certificates(certfile.read_bytes())[0]
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_a_browser_signs_in_through_the_page(
    chromium: Path,
    cluster: ClusterState,
    http: httpx.Client,
    west: FrontEndProcess,
    registered: RegisteredApp,
    tmp_path: Path,
) -> None:
    verifier, challenge = pkce()
    auth = authorize_url(west.url, registered, code_challenge=challenge, code_challenge_method="S256")
    pin = spki_pin(server_certificate(cluster.directory, "westeurope").certfile)
    landed: list[str] = []

    def client_page(route: Route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Signed in</title>")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(chromium),
            headless=True,
            args=[*QUIET, f"--ignore-certificate-errors-spki-list={pin}"],
        )
        try:
            page = browser.new_page()
            page.route("https://app.example/**", client_page)
            page.goto(auth)
            assert page.title() == "Sign in"
            page.fill("#username", registered.tenant.admin)
            page.fill("#password", "not-the-Passw0rd")
            page.click("#sign-in")
            assert "AADSTS50126" in page.inner_text("[role=alert]")
            assert page.input_value("#username") == registered.tenant.admin
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url(f"{SPA_CALLBACK}?**")
            assert page.title() == "Signed in"
        finally:
            browser.close()

    answer = {k: v[0] for k, v in parse_qs(urlsplit(landed[-1]).query).items()}
    assert answer["state"] == "st-123"
    tokens = http.post(
        f"{west.url}/{registered.tenant.id}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": registered.client_id,
            "code": answer["code"],
            "redirect_uri": SPA_CALLBACK,
            "code_verifier": verifier,
            "scope": "openid profile",
        },
    ).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["preferred_username"] == registered.tenant.admin
    assert claims["nonce"] == "n-456"
