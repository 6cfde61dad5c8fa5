"""The WAN proxy: a real server behind it, connections placed by their startup message, no way around it."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from scale_units.ports import free_port
from scale_units.state import ClusterState
from scale_units.wan.proxy import Proxy, ProxySpec, Traffic, WanSpec, application_name

RTT = {"eastus": {"westeurope": 80.0}, "westeurope": {"eastus": 80.0, "northeurope": 18.0}}


def _spec(cluster: ClusterState) -> tuple[WanSpec, ProxySpec]:
    primary = cluster.discover().scale_units["emea-1"].primary
    proxy = ProxySpec(primary.name, free_port(), cluster.servers[primary.name].port, primary.region)
    regions = {s.name: s.region for s in cluster.discover().servers()}
    return WanSpec((proxy,), regions, RTT), proxy


def test_delay_is_half_the_links_round_trip_and_none_within_a_region(cluster: ClusterState) -> None:
    wan, _ = _spec(cluster)
    assert wan.one_way_s("eastus", "westeurope") == pytest.approx(0.040)
    assert wan.one_way_s("westeurope", "westeurope") == 0.0
    assert wan.one_way_s(None, "westeurope") == 0.0
    assert wan.source_region(application_name("eastus")) == "eastus"
    assert wan.source_region("na-1-eastus") == "eastus", "a replica is known by its server name"
    assert wan.source_region("na_1_eastus") == "eastus", "or by its slot-style name"


async def test_connections_pass_intact_and_count_on_their_link(cluster: ClusterState) -> None:
    wan, proxy = _spec(cluster)
    traffic = Traffic()
    server = await Proxy(proxy, wan, traffic).serve()
    proxied = cluster.dsn(proxy.server).replace(f":{proxy.target_port}/", f":{proxy.listen_port}/")
    try:
        conn = await asyncpg.connect(
            proxied, server_settings={"application_name": application_name("eastus")}
        )
        try:
            assert await conn.fetchval("SELECT repeat('x', 100000)") == "x" * 100_000
            assert await conn.fetchval("SELECT current_setting('application_name')") == "corestore@eastus"
        finally:
            await conn.close()
        assert traffic.moved[f"eastus->{proxy.server}"] > 100_000
    finally:
        server.close()
        await server.wait_closed()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(asyncpg.connect(proxied, timeout=2), 5)
