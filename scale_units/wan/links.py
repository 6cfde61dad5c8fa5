"""The WAN between front ends: a client that follows a redirect to another region's front end
crosses the link between the two regions.

HTTP carries no `application_name`, so the link is chosen by the port a client uses: with
the WAN on, each front end listens, besides its own port, on one proxy per other region
of its cloud (`ProxySpec.source`: a fixed delay, that region's round trip to this one),
and registers those addresses beside its URL (`FrontEndEntry.links`). A front end that
redirects a client puts in `Location` the target's link from its own region, and a 421
names the same address. The proxy is plain TCP, so TLS passes through untouched (the
front end's certificate covers 127.0.0.1, where the links listen).

Who runs them: the target front end, as tasks of its own event loop. It knows its port,
and the regions that could send it clients are the topology's, so all its links are
known when it starts; no supervisor, pid file or registry watch is needed. They open
before it registers, close when it stops, and die with it on any failure (SIGKILL
included), when its registry entry stops counting too. A link's address is the only one
a client of that region is ever given: a link that does not listen is a link down
(connection refused), never a direct path.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

from scale_units.errors import ClusterError
from scale_units.model.types import RegionName
from scale_units.state import ClusterState
from scale_units.wan import cluster as wan_cluster
from scale_units.wan.proxy import Proxy, ProxySpec, Traffic, WanSpec


class FrontEndLinks:
    """The links into one front end (at `url`, on this host) from the other regions of its cloud."""

    def __init__(self, wan: WanSpec, url: str) -> None:
        self.wan = wan
        self.url = url
        self._servers: list[asyncio.Server] = []

    @classmethod
    def of(cls, state: ClusterState, region: RegionName, url: str) -> FrontEndLinks | None:
        """The links of a front end of `region` reached at `url`; None when the cluster has no WAN."""
        if not wan_cluster.proxied(state):
            return None
        topology = state.planned_topology
        cloud = topology.regions[region].cloud
        port = urlsplit(url).port
        if port is None:
            raise ClusterError(f"a front end behind the WAN needs a port in its URL, not {url!r}")
        specs = tuple(
            ProxySpec(f"frontend-{region}", 0, port, region, source=other)
            for other, place in topology.regions.items()
            if other != region and place.cloud is cloud
        )
        return cls(WanSpec(specs, {}, wan_cluster.round_trips(topology), topology.wan.jitter_ms), url)

    async def start(self) -> dict[RegionName, str]:
        """Every link listening (each on a port the kernel picks); their URLs, by client region."""
        traffic = Traffic()
        parts = urlsplit(self.url)
        links: dict[RegionName, str] = {}
        for spec in self.wan.proxies:
            assert spec.source is not None
            server = await Proxy(spec, self.wan, traffic).serve()
            self._servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            links[spec.source] = urlunsplit(parts._replace(netloc=f"{host}:{port}"))
        return links

    def close(self) -> None:
        """No new crossings; a connection under way ends with its client or the front end."""
        for server in self._servers:
            server.close()
        self._servers.clear()
