"""Facts about the machine and the software, kept with every result (numbers mean nothing without them)."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from scale_units.model.topology import Topology
from scale_units.state import ClusterState

PACKAGES = (
    "corestore",
    "asyncpg",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "pyjwt",
    "cryptography",
    "argon2-cffi",
    "pydantic",
    "httpx",
    "hdrhistogram",
)
SERVER_SETTINGS = (
    "shared_buffers",
    "max_connections",
    "fsync",
    "synchronous_commit",
    "synchronous_standby_names",
)


def machine_facts(state: ClusterState, topology: Topology) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_bytes": _memory_bytes(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": {name: _version(name) for name in PACKAGES},
        "postgres": asyncio.run(_postgres(state, topology)),
    }


def _cpu_model() -> str | None:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or None


def _memory_bytes() -> int | None:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


async def _postgres(state: ClusterState, topology: Topology) -> dict[str, Any]:
    primary = next(iter(topology.scale_units.values())).primary
    async with state.connect(primary) as conn:
        settings = {name: await conn.fetchval(f"SHOW {name}") for name in SERVER_SETTINGS}
        return {
            "version": await conn.fetchval("SELECT version()"),
            "settings": settings,
            "cluster_settings": state.settings,
        }
