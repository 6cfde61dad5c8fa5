"""The remembered base URL is Starlette's, whatever the host header, server and root path."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from auth_service.graph.responses import base_url

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "scope",
    [
        {"scheme": "https", "server": ("127.0.0.1", 8443), "headers": [(b"host", b"fe.example:8443")]},
        {"scheme": "http", "server": ("::1", 80), "headers": []},
        {"scheme": "https", "server": ("10.0.0.1", 443), "headers": [(b"host", b"bad host:x")]},
        {"scheme": "http", "server": None, "headers": [(b"host", b"fe.example")], "root_path": "/api"},
        {"scheme": "http", "server": ("h", 81), "headers": [], "root_path": "/a", "app_root_path": "/b"},
    ],
)
def test_base_url_is_starlettes(scope: dict[str, Any]) -> None:
    full = {"type": "http", "path": "/v1.0/me", "query_string": b"x=1", **scope}
    assert base_url(Request(full)) == str(Request(full).base_url)
