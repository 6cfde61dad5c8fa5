"""The README's MSAL + Graph SDK example runs as written, with a registered application's values."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from devtools.client import grant_app_roles
from devtools.process import FrontEndProcess
from scale_units.local.tls import ca_bundle
from scale_units.state import ClusterState
from tests.auth_service.conftest import sign_in
from tests.auth_service.signin_flow import RegisteredApp, app_token

README = Path(__file__).parents[2] / "README.md"


def test_readme_graph_sdk_example_runs(
    cluster: ClusterState,
    http: httpx.Client,
    west: FrontEndProcess,
    admin_headers: dict[str, str],
    web_app: RegisteredApp,
    tmp_path: Path,
) -> None:
    grant_app_roles(http, west.url, admin_headers, web_app.client_id, ("User.Read.All",))
    app_token(http, west.url, web_app, ["User.Read.All"])  # once the replicas have the assignment
    assert _run(cluster, west, web_app, tmp_path, _example()) == repr([web_app.tenant.admin])


def test_the_readme_clients_setup_serves_me_to_a_signed_in_user(
    cluster: ClusterState, http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, tmp_path: Path
) -> None:
    """The same example with a user's token asking for `/me`: the SDK sends `graph.me` as
    `/users/me-token-to-replace` unless the client is made with the SDK's own options."""
    script = _example()
    user_token = sign_in(http, west.url, web_app.tenant.domain, web_app.tenant.admin)["access_token"]
    for old, new in (
        (
            'token = app.acquire_token_for_client(scopes=["https://graph.corestore.local/.default"])["access_token"]',
            f"token = {user_token!r}",
        ),
        (".users.get()", ".me.get()"),
        ("[user.user_principal_name for user in users.value]", "users.user_principal_name"),
    ):
        assert old in script, f"the README example changed: {old!r} is gone"
        script = script.replace(old, new)
    assert _run(cluster, west, web_app, tmp_path, script) == web_app.tenant.admin


def _example() -> str:
    found: list[str] = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    blocks = [b for b in found if "msgraph" in b]
    assert len(blocks) == 1, "the README has one Graph SDK example"
    return blocks[0]


def _run(
    cluster: ClusterState, west: FrontEndProcess, web_app: RegisteredApp, tmp_path: Path, code: str
) -> str:
    script = tmp_path / "graph_example.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env |= {
        "FRONT_END": west.url,
        "TENANT": web_app.tenant.domain,
        "CA_BUNDLE": str(ca_bundle(cluster.directory)),
        "CLIENT_ID": web_app.client_id,
        "CLIENT_SECRET": web_app.secret,
    }
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
