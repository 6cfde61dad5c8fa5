"""Whether a registered front end is ready: its `/readyz` answers 200.

A front end whose process lives but cannot serve its geo (its catalog or a scale unit
unreachable) answers 503 there; the registry must not send clients to it. The answer is
remembered for a short while, so redirects do not each pay a probe, and bounded by a short
timeout, since the registry is asked on a request's path.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from scale_units.local.tls import trust

READY_TTL_S = 2.0
PROBE_TIMEOUT_S = 1.0


class ReadinessProbe:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir  # its CA signs every front end's certificate
        self._seen: dict[str, tuple[float, bool]] = {}

    def __call__(self, url: str) -> bool:
        now = time.monotonic()
        seen = self._seen.get(url)
        if seen is not None and now - seen[0] < READY_TTL_S:
            return seen[1]
        ready = self._probe(url)
        self._seen[url] = (now, ready)
        return ready

    def _probe(self, url: str) -> bool:
        try:
            verify = trust(self.state_dir) if url.startswith("https:") else True
            return httpx.get(f"{url}/readyz", timeout=PROBE_TIMEOUT_S, verify=verify).status_code == 200
        except (httpx.HTTPError, OSError):
            return False
