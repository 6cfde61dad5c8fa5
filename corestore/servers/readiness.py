"""Whether a store can serve a geo now: its cloud's catalog answers, and every scale unit of the
geo has a server that answers. What a front end's `/readyz` reports, reason by reason."""

from __future__ import annotations

import asyncio

from corestore.pools import Pools
from corestore.roles import CATALOG_DB, DIRECTORY_DB
from scale_units.model.geography import Cloud, Geo
from scale_units.model.topology import ScaleUnit
from scale_units.routing import Router

READINESS_PROBE_TIMEOUT_S = 1.0


async def problems(pools: Pools, router: Router, cloud: Cloud, geo: Geo) -> list[str]:
    """Why the store cannot serve `geo` of `cloud` now; empty when it can."""
    topology = router.topology
    units = [u for u in topology.scale_units.values() if u.cloud is cloud and u.geo is geo]
    catalog = router.write_target(topology.catalog_unit(cloud)).name
    found = await asyncio.gather(
        _answers(pools, catalog, CATALOG_DB), *(_unit_answers(pools, router, u) for u in units)
    )
    out = [] if found[0] else [f"the {cloud.value} catalog on {catalog} does not answer"]
    out += [
        f"no server of scale unit {u.id} answers" for u, ok in zip(units, found[1:], strict=True) if not ok
    ]
    return out


async def _unit_answers(pools: Pools, router: Router, unit: ScaleUnit) -> bool:
    for server in router.read_order(unit):
        if await _answers(pools, server.name, DIRECTORY_DB):
            return True
    return False


async def _answers(pools: Pools, server: str, database: str) -> bool:
    try:
        async with asyncio.timeout(READINESS_PROBE_TIMEOUT_S):
            pool = pools.get(server, database)
            return bool(await pool.fetchval("SELECT true"))
    except Exception:
        return False
