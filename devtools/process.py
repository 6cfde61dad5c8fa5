"""Front ends as real processes: started, awaited until they answer, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from scale_units.errors import ClusterError
from scale_units.local.tls import trust
from scale_units.ports import free_port

READY_TIMEOUT_S = 30.0


@dataclass
class FrontEndProcess:
    region: str
    directory: Path
    port: int
    options: tuple[str, ...] = ()
    tls: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ClusterError(f"front end {self.region} is not running")
        return self.process.pid

    def start(self) -> None:
        self.launch()
        self.await_ready()

    def launch(self) -> None:
        """The process, not yet ready: several front ends start at once, then are awaited."""
        command = [
            sys.executable,
            "-m",
            "devtools",
            "serve",
            "--region",
            self.region,
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--tls" if self.tls else "--no-tls",
            *self.options,
        ]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)

    def await_ready(self) -> None:
        """Until /readyz answers 200; a front end that exits or stays unready is stopped and raises."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + READY_TIMEOUT_S
        verify = trust(self.directory) if self.tls else True
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClusterError(f"front end {self.region} exited with {self.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2.0, verify=verify).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise ClusterError(f"front end {self.region} was not ready (/readyz) within {READY_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """As a crash would: SIGKILL, no shutdown."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@contextlib.contextmanager
def front_ends(
    directory: Path, regions: list[str], options: tuple[str, ...] = (), *, tls: bool = True
) -> Iterator[list[FrontEndProcess]]:
    """One front end per region, on free loopback ports (https unless `tls` is off); all stopped on exit."""
    started: list[FrontEndProcess] = []
    try:
        for region in regions:
            process = FrontEndProcess(region, directory, free_port(), options, tls)
            process.launch()
            started.append(process)
        for process in started:
            process.await_ready()
        yield started
    finally:
        for process in started:
            process.stop()
