"""A server's CPU seconds from /proc, sampled at the edges of the measured window.

Requests per server CPU-second set beside published per-vCPU figures (Keycloak's sizing
guide, ZITADEL's load tests) need the CPU the server under test spent, children included
(none today: one process per server), not the machine's.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU of `pids` so far (fields 14 and 15 of /proc/PID/stat)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name (field 2) may hold spaces; the fields after it are space-separated.
            fields = stat.read().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS_PER_S


class WindowCpu:
    """Samples `pids` at two monotonic instants from a thread, so the caller may block meanwhile."""

    def __init__(self, pids: Sequence[int], start: float, end: float) -> None:
        self.pids = tuple(pids)
        self.seconds: float | None = None
        self._thread = threading.Thread(target=self._sample, args=(start, end), daemon=True)
        self._thread.start()

    def _sample(self, start: float, end: float) -> None:
        time.sleep(max(0.0, start - time.monotonic()))
        before = cpu_seconds(self.pids)
        time.sleep(max(0.0, end - time.monotonic()))
        self.seconds = cpu_seconds(self.pids) - before

    def result(self) -> float | None:
        self._thread.join(timeout=5)
        return self.seconds
