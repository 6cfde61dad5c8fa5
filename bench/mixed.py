"""Reads while password sign-ins arrive at a fixed rate: does argon2 hold up the reads?

The reads are `http-read`'s, closed loop; the sign-ins are open loop (one is started every
1/rate seconds whether or not the last one answered, as users arrive), spread over the
generator processes, on connections of their own. Only reads are timed; a sign-in that is
not answered with tokens is counted by kind (`sign-in http 4xx`) in place of a read.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from bench.generator import Client
from bench.http.load import FORM, GetRow, unexpected
from bench.http.wire import Connection

SIGN_INS_PER_S = 20.0
MAX_IN_FLIGHT = 64


@dataclass(frozen=True)
class ReadsWithSignIns:
    reads: GetRow
    url: str
    token_path: str
    password_form: bytes
    sign_ins_per_s: float
    processes: int

    async def open(self, tasks: int) -> Client:
        reads = await self.reads.open(tasks)
        return _Mixed(reads, self, self.sign_ins_per_s / self.processes)


class _Mixed:
    def __init__(self, reads: Client, spec: ReadsWithSignIns, rate: float) -> None:
        self.reads = reads
        self.spec = spec
        self.failures: list[str] = []
        self.idle = [Connection(spec.url) for _ in range(4)]
        self.in_flight: set[asyncio.Task[None]] = set()
        self.arrivals = asyncio.create_task(self._arrive(1.0 / rate))

    async def call(self, task: int) -> str | None:
        if self.failures:
            return self.failures.pop()
        return await self.reads.call(task)

    async def _arrive(self, interval_s: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += interval_s
            await asyncio.sleep(max(0.0, due - loop.time()))
            if len(self.in_flight) >= MAX_IN_FLIGHT:
                self.failures.append("sign-in backlog full")
                continue
            started = asyncio.create_task(self._sign_in())
            self.in_flight.add(started)
            started.add_done_callback(self.in_flight.discard)

    async def _sign_in(self) -> None:
        connection = self.idle.pop() if self.idle else Connection(self.spec.url)
        try:
            response = await connection.request("POST", self.spec.token_path, FORM, self.spec.password_form)
            if response.status != 200 or b"access_token" not in response.body:
                self.failures.append(f"sign-in {unexpected(response)}")
        except Exception as exc:  # counted, like every other unexpected answer
            self.failures.append(f"sign-in error: {type(exc).__name__}")
        self.idle.append(connection)

    async def close(self) -> None:
        self.arrivals.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.arrivals
        for task in list(self.in_flight):
            task.cancel()
        await asyncio.gather(*self.in_flight, return_exceptions=True)
        for connection in self.idle:
            await connection.close()
        await self.reads.close()
