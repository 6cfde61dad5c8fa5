"""Servers under test as real processes: the front ends (`corestore serve`) and the ASGI baseline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.db.rows import Row
from bench.http.asgi_baseline import CONFIG_ENV, BaselineConfig

READY_TIMEOUT_S = 30.0


def frontend_pool_size() -> int:
    """Connections a front end may open per server: SQLAlchemy's pool_size plus as many overflow."""
    from auth_service.frontend import FrontEndConfig

    return 2 * FrontEndConfig(region="", directory=Path()).pool_size


@contextlib.contextmanager
def asgi_baseline(dsn: str, row: Row, pool_size: int) -> Iterator[tuple[str, int]]:
    """The baseline server on a free loopback port; its URL and pid, and it is stopped on exit."""
    from scale_units.ports import free_port

    config = BaselineConfig(dsn, str(row.tenant_id), str(row.user_id), pool_size, free_port())
    env = {**os.environ, CONFIG_ENV: config.to_env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.http.asgi_baseline"],
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{config.port}"
    try:
        _await_answer(process, url)
        yield url, process.pid
    finally:
        _stop(process)


def _await_answer(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the ASGI baseline exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the ASGI baseline did not answer within {READY_TIMEOUT_S:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
