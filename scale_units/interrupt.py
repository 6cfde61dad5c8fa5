"""SIGTERM taken as Ctrl-C, so a `kill` or a CI timeout unwinds the same `finally` blocks and
whatever a command started (clusters, front ends, containers) is stopped."""

from __future__ import annotations

import signal


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def terminate_as_interrupt() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
