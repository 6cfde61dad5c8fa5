"""What a store has done, as plain counts: kept on the hot path for nearly nothing (an integer
added), read by whoever exports them (the front end's `/metrics`) when asked."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

PRIMARY = "primary"
REPLICA = "replica"


@dataclass
class StoreStats:
    reads: Counter[tuple[str, str]] = field(default_factory=Counter)  # (server, role) -> reads served
    consistency_waits: int = 0  # reads that waited for a replica to replay the session's write
    consistency_wait_s: float = 0.0
    commits: int = 0
    commits_uncertain: int = 0

    def read(self, server: str, on_primary: bool) -> None:
        self.reads[server, PRIMARY if on_primary else REPLICA] += 1

    def waited(self, seconds: float) -> None:
        self.consistency_waits += 1
        self.consistency_wait_s += seconds
