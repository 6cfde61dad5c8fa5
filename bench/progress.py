"""Where a long run is: on a terminal, one tqdm bar (on stderr) over the run's planned seconds;
otherwise (a log file, CI) one plain line per measured workload, never a bar's frames."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from tqdm import tqdm

TICK_S = 0.2


class Progress:
    def __init__(self, planned_s: float, terminal: bool | None = None) -> None:
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._bar = tqdm(
            total=round(planned_s, 1),
            unit="s",
            file=sys.stderr,
            disable=not self.terminal,
            bar_format="{desc:<28} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s{postfix}",
        )

    def follow(self, label: str, until: float, seconds: float, ops: Callable[[], int]) -> None:
        """Advance by `seconds` while waiting for the monotonic time `until`, showing the op count."""
        self._bar.set_description_str(label)
        start = time.monotonic()
        shown = 0.0
        while (now := time.monotonic()) < until:
            time.sleep(min(TICK_S, until - now))
            step = min(seconds, time.monotonic() - start) - shown
            self._bar.update(step)
            shown += step
            self._bar.set_postfix_str(f"{ops():,} ops")
        self._bar.update(seconds - shown)

    def note(self, label: str) -> None:
        self._bar.set_description_str(label)
        self._bar.refresh()

    def measured(self, name: str, per_s: float, p99_us: float) -> None:
        """A workload's one line when no bar is shown."""
        if not self.terminal:
            print(f"{name}: {per_s:,.0f} ops/s, p99 {p99_us / 1000:,.2f} ms", file=sys.stderr, flush=True)

    def close(self) -> None:
        self._bar.close()
