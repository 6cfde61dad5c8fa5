"""The load generator: closed-loop tasks in spawned processes, one shared warm-up, one merged histogram.

The processes are separate from the server under test (for library workloads the generator is the
library's client and Postgres is the server under test). Every process starts measuring at the same
monotonic instant, so the merged histogram covers one window; a call counts if it started inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.sharedctypes import Synchronized, SynchronizedArray
from multiprocessing.synchronize import Event
from typing import Any, Protocol

from bench.cpu import WindowCpu
from bench.histogram import Latency, merge, new_histogram, record_ns
from scale_units.progress import Progress

READY_TIMEOUT_S = 120.0
PUBLISH_S = 0.25


class Client(Protocol):
    async def call(self, task: int) -> str | None:
        """One request; None when it did what was expected, else a label to count (never an error)."""

    async def close(self) -> None: ...


class ClientSpec(Protocol):
    """Picklable: each generator process opens its own client from it."""

    async def open(self, tasks: int) -> Client: ...


@dataclass(frozen=True)
class Load:
    processes: int
    tasks: int
    warmup_s: float
    measure_s: float
    pin_cpu: int | None = None

    def split(self) -> list[int]:
        """Tasks per process: the total is what both a system and its baseline get."""
        base, extra = divmod(self.tasks, self.processes)
        return [base + (1 if i < extra else 0) for i in range(self.processes)]

    @property
    def planned_s(self) -> float:
        return self.warmup_s + self.measure_s


@dataclass(frozen=True)
class Run:
    """A measured window; `machine_load` is the 1-minute load average at its end (per round): with our
    own generators and servers it is about the core count, clearly more means others shared the machine."""

    latency: Latency
    ok: int
    outcomes: dict[str, int]
    measure_s: float
    load: Load
    machine_load: tuple[float, ...] = ()
    server_cpu_s: float | None = None

    @property
    def throughput(self) -> float:
        return self.ok / self.measure_s if self.measure_s > 0 else 0.0

    @property
    def per_cpu_s(self) -> float:
        """Answered requests per CPU-second of the server under test (0 when not measured)."""
        return self.ok / self.server_cpu_s if self.server_cpu_s else 0.0

    def joined(self, other: Run) -> Run:
        """Two windows of the same load as one (rounds): histograms merged, counts and seconds added."""
        outcomes = Counter(self.outcomes) + Counter(other.outcomes)
        latency = Latency.of(merge([self.latency.encoded, other.latency.encoded]))
        seconds = self.measure_s + other.measure_s
        cpu = None if self.server_cpu_s is None else self.server_cpu_s + (other.server_cpu_s or 0.0)
        return Run(
            latency,
            self.ok + other.ok,
            dict(outcomes),
            seconds,
            self.load,
            self.machine_load + other.machine_load,
            cpu,
        )


@dataclass(frozen=True)
class _Shared:
    channel: Any
    go: Event
    start_at: Synchronized[float]
    counts: SynchronizedArray[int]


def run_load(
    spec: ClientSpec, load: Load, label: str, progress: Progress, server_pids: Sequence[int] = ()
) -> Run:
    """`server_pids`: the processes under test, whose CPU seconds in the window the run reports."""
    ctx = multiprocessing.get_context("spawn")
    shared = _Shared(ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0), ctx.Array("q", load.processes))
    processes = [
        ctx.Process(target=_child, args=(spec, tasks, load, i, shared), daemon=True)
        for i, tasks in enumerate(load.split())
    ]
    for process in processes:
        process.start()
    try:
        _await_ready(shared, processes)
        shared.start_at.value = time.monotonic() + 0.05
        shared.go.set()
        end = shared.start_at.value + load.planned_s
        cpu = WindowCpu(server_pids, shared.start_at.value + load.warmup_s, end) if server_pids else None
        progress.follow(label, end, load.planned_s, lambda: sum(shared.counts[:]))
        machine_load = os.getloadavg()[0]
        results = [_receive(shared, processes, "result", timeout=load.planned_s + 60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return replace(_combine(results, load, machine_load), server_cpu_s=cpu.result() if cpu else None)


def _await_ready(shared: _Shared, processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    for _ in processes:
        _receive(shared, processes, "ready", READY_TIMEOUT_S)


def _receive(
    shared: _Shared, processes: Sequence[multiprocessing.process.BaseProcess], kind: str, timeout: float
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, payload = shared.channel.get(timeout=0.5)
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"load generator lost while waiting for {kind} (exit codes {dead})"
                ) from None
            continue
        if got == "failed":
            raise RuntimeError(f"load generator failed:\n{payload}")
        return payload


def _combine(results: list[dict[str, Any]], load: Load, machine_load: float) -> Run:
    outcomes: Counter[str] = Counter()
    for result in results:
        outcomes.update(result["outcomes"])
    latency = Latency.of(merge(r["histogram"] for r in results))
    return Run(latency, sum(r["ok"] for r in results), dict(outcomes), load.measure_s, load, (machine_load,))


def _child(spec: ClientSpec, tasks: int, load: Load, index: int, shared: _Shared) -> None:
    if load.pin_cpu is not None:
        os.sched_setaffinity(0, {load.pin_cpu})
    try:
        import uvloop

        result = uvloop.run(_generate(spec, tasks, load, index, shared))
    except BaseException:
        shared.channel.put(("failed", traceback.format_exc()))
        raise
    shared.channel.put(("result", result))


async def _generate(spec: ClientSpec, tasks: int, load: Load, index: int, shared: _Shared) -> dict[str, Any]:
    client = await spec.open(tasks)
    try:
        shared.channel.put(("ready", index))
        await asyncio.get_running_loop().run_in_executor(None, shared.go.wait)
        window = _Window(shared.start_at.value + load.warmup_s, shared.start_at.value + load.planned_s)
        publisher = asyncio.create_task(_publish(window, index, shared))
        await asyncio.gather(*(window.drive(client, task) for task in range(tasks)))
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher
    finally:
        await client.close()
    return {"histogram": window.histogram.encode(), "ok": window.ok, "outcomes": dict(window.outcomes)}


async def _publish(window: _Window, index: int, shared: _Shared) -> None:
    while True:
        shared.counts[index] = window.ok
        await asyncio.sleep(PUBLISH_S)


class _Window:
    """The measured window: calls started before it are warm-up, calls after its end are not made."""

    def __init__(self, start: float, end: float) -> None:
        self.start_ns = int(start * 1e9)
        self.end_ns = int(end * 1e9)
        self.histogram = new_histogram()
        self.ok = 0
        self.outcomes: Counter[str] = Counter()

    async def drive(self, client: Client, task: int) -> None:
        while (began := time.monotonic_ns()) < self.end_ns:
            try:
                label = await client.call(task)
            except Exception as exc:
                label = f"error: {type(exc).__name__}: {str(exc)[:120]}"
            if began < self.start_ns:
                continue
            if label is None:
                record_ns(self.histogram, time.monotonic_ns() - began)
                self.ok += 1
            else:
                self.outcomes[label] += 1
