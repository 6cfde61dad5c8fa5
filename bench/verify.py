"""Token verification alone, in-process, through the front end's own verifier (one task, one pinned core).

The verifier remembers tokens it has verified (clients present one token for its lifetime), so
`cold` turns that off in this process: every call then checks a signature, which is what the
per-core goal is about; the remembered path is measured too, as the common case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.generator import Client

if TYPE_CHECKING:
    from auth_service.frontend import FrontEnd


def verify_cpu() -> int:
    """The last core this process may run on: the one the verifier gets to itself."""
    return max(os.sched_getaffinity(0))


@dataclass(frozen=True)
class VerifyTokens:
    directory: Path
    region: str
    tokens: tuple[str, ...]
    cold: bool

    async def open(self, tasks: int) -> Client:
        from auth_service.frontend import FrontEnd, FrontEndConfig

        frontend = FrontEnd(FrontEndConfig(region=self.region, directory=self.directory))
        if self.cold:
            frontend.verifier.cache_size = 0
        return _Verifier(frontend, self.tokens)


class _Verifier:
    """Cycles through the tokens of several applications."""

    def __init__(self, frontend: FrontEnd, tokens: tuple[str, ...]) -> None:
        self.frontend = frontend
        self.tokens = tokens
        self.calls = 0

    async def call(self, task: int) -> str | None:
        self.calls += 1
        self.frontend.verify(self.tokens[self.calls % len(self.tokens)])
        return None

    async def close(self) -> None:
        await self.frontend.close()
