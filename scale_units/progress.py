"""Where a long command is: on a terminal, one tqdm bar redrawn in place; otherwise (a log
file, CI) one plain line per phase, never a bar's frames.

The bench's timed runs (a bar over the run's planned seconds) and every command with long
work (`cluster up`, `add-unit`, tenant moves, the bench seed, the demo: the phase it is in,
and the time since it started) share it; a phase is reported by calling it with a line.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

TICK_S = 0.2
Report = Callable[[str], None]  # tells the phase now under way; a `Progress` is one


def quiet(line: str) -> None:
    """No one is watching (a library caller, a test)."""


class Progress:
    def __init__(
        self, planned_s: float | None = None, terminal: bool | None = None, file: TextIO | None = None
    ) -> None:
        """A bar over `planned_s` seconds, or without it a phase display; on `file` (stderr)."""
        self.file = file or sys.stderr
        self.terminal = self.file.isatty() if terminal is None else terminal
        timed = "{desc:<28} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s{postfix}"
        self._bar = tqdm(
            total=None if planned_s is None else round(planned_s, 1),
            unit="s",
            file=self.file,
            disable=not self.terminal,
            bar_format="{desc} [{elapsed}]" if planned_s is None else timed,
        )
        self._stop = threading.Event()
        self._ticker = None
        if planned_s is None and self.terminal:  # the elapsed time moves while a phase waits
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def __call__(self, line: str) -> None:
        self.note(line)

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
        """The phase now under way: the bar's label, or one line."""
        if self.terminal:
            self._bar.set_description_str(label)
            self._bar.refresh()
        else:
            print(label, file=self.file, flush=True)

    def measured(self, name: str, per_s: float, p99_us: float) -> None:
        """A workload's one line when no bar is shown."""
        if not self.terminal:
            print(f"{name}: {per_s:,.0f} ops/s, p99 {p99_us / 1000:,.2f} ms", file=self.file, flush=True)

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1.0)
        self._bar.close()

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            self._bar.refresh()
