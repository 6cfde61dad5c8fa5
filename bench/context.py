"""What workloads share in one run: the cluster, the settings, the load shape, and fixtures made once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bench.db.libenv import library_row
from bench.db.rows import Row, nearest_server
from bench.generator import ClientSpec, Load, Run, run_load
from bench.http.env import HttpEnv, Plan, http_env
from bench.scrape import Sample
from bench.seed import country_for
from bench.servers import asgi_baseline, frontend_pool_size
from corestore.roles import dsn
from scale_units.model.topology import Topology
from scale_units.progress import Progress
from scale_units.routing import Router
from scale_units.state import ClusterState

PREFERRED_REGION = "westeurope"
MAX_APPLICATIONS = 64
MAX_WRITER_TENANTS = 16


@dataclass(frozen=True)
class Settings:
    duration_s: float
    concurrency: int
    processes: int
    quick: bool
    region: str | None
    rounds: int = 1

    @property
    def warmup_s(self) -> float:
        return max(1.0, 0.2 * self.duration_s)


def caller_region(topology: Topology, wanted: str | None) -> str:
    """The region the library and the writing front end run in: as asked, else westeurope, else the first."""
    region = wanted or (PREFERRED_REGION if PREFERRED_REGION in topology.regions else min(topology.regions))
    if region not in topology.regions:
        raise SystemExit(f"unknown region {region!r}; this cluster has {', '.join(sorted(topology.regions))}")
    return region


class Context:
    def __init__(
        self,
        state: ClusterState,
        topology: Topology,
        settings: Settings,
        progress: Progress,
        stack: contextlib.ExitStack,
    ) -> None:
        self.state = state
        self.topology = topology
        self.settings = settings
        self.region = caller_region(topology, settings.region)
        self.progress = progress
        self.stack = stack
        self.seeded_tenants = 0
        self._http: HttpEnv | Exception | None = None

    @property
    def directory(self) -> Path:
        return self.state.directory

    def load(
        self, processes: int | None = None, tasks: int | None = None, pin_cpu: int | None = None
    ) -> Load:
        s = self.settings
        return Load(
            processes or min(s.processes, s.concurrency),
            tasks or s.concurrency,
            s.warmup_s,
            s.duration_s,
            pin_cpu,
        )

    def measure(
        self, label: str, spec: ClientSpec, load: Load | None = None, server_pids: Sequence[int] = ()
    ) -> Run:
        return run_load(spec, load or self.load(), label, self.progress, server_pids)

    def replica_dsn(self, row: Row) -> str:
        """The app role's DSN on the server the library reads `row` from."""
        return dsn(self.state, nearest_server(self.topology, self.region, row.scale_unit), "app")

    def primary_dsn(self, row: Row) -> str:
        """The app role's DSN on the primary of `row`'s scale unit, where the library writes it."""
        unit = self.topology.scale_units[row.scale_unit]
        return dsn(self.state, Router(self.topology, self.region).write_target(unit), "app")

    @cached_property
    def library_row(self) -> Row:
        self.progress.note("creating the library tenant")
        return asyncio.run(library_row(self.state, self.topology, self.region))

    @property
    def http(self) -> HttpEnv:
        """Made once; if making it failed, every later HTTP workload fails at once with the same reason."""
        if isinstance(self._http, BaseException):
            raise RuntimeError(f"the HTTP setup failed earlier: {self._http}")
        if self._http is None:
            self.progress.note("starting front ends")
            try:
                self._http = self.stack.enter_context(http_env(self.state, self._http_plan()))
            except Exception as exc:
                self._http = exc
                raise
        return self._http

    @property
    def scraped(self) -> list[Sample]:
        """The front ends' metrics over the run, if HTTP workloads ran."""
        return self._http.scraped.samples if isinstance(self._http, HttpEnv) else []

    @cached_property
    def asgi(self) -> tuple[str, int]:
        """The ASGI baseline's URL and pid."""
        self.progress.note("starting the ASGI baseline")
        row = self.http.row
        return self.stack.enter_context(asgi_baseline(self.replica_dsn(row), row, frontend_pool_size()))

    def _http_plan(self) -> Plan:
        topology = self.topology
        home = topology.regions[self.region]
        others = sorted(
            r.name for r in topology.regions.values() if r.geo is home.geo and r.name != home.name
        )
        if not others:
            raise RuntimeError(f"read-your-writes needs a second region in the geo of {home.name}")
        concurrency = self.settings.concurrency
        return Plan(
            write_region=home.name,
            read_region=others[0],
            country=country_for(topology, home.cloud, home.geo),
            applications=min(MAX_APPLICATIONS, max(8, concurrency)),
            writer_tenants=min(MAX_WRITER_TENANTS, max(4, concurrency)),
        )
