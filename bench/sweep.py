"""The scale sweep: library point reads of random (tenant, user) pairs as the directory grows tenfold."""

from __future__ import annotations

import asyncio

from bench.context import Context
from bench.db.reads import LibraryRead
from bench.measured import Measured
from bench.seed import SeededRows, ensure, seed_units

FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (200, 2_000)
NAME = "scale-sweep"


def sizes(quick: bool) -> tuple[int, ...]:
    return QUICK_SIZES if quick else FULL_SIZES


def run_sweep(ctx: Context) -> list[Measured]:
    units = seed_units(ctx.topology)
    results = []
    for tenants in sizes(ctx.settings.quick):
        asyncio.run(ensure(ctx.state, ctx.topology, tenants, ctx.progress))
        ctx.seeded_tenants = tenants
        name = f"{NAME}@{tenants}"
        spec = LibraryRead(ctx.directory, ctx.region, SeededRows(tenants, units))
        results.append(Measured(name, NAME, ctx.measure(name, spec), tenants))
    return results
