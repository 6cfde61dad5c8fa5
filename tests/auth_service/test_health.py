"""Health probes as an orchestrator uses them: no token, a plain answer."""

from __future__ import annotations

import httpx

from devtools.process import FrontEndProcess


def test_a_serving_front_end_is_alive_and_ready(http: httpx.Client, west: FrontEndProcess) -> None:
    assert http.get(f"{west.url}/healthz").json() == {"status": "alive"}
    ready = http.get(f"{west.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "region": "westeurope"}
