"""The redirect's cost: a client of one geo asks its own region's front end for another geo's
tenant, gets a 307, and follows it across the WAN.

The other geo's front end registers a public URL that is a WAN proxy (`scale_units.wan`,
a plain TCP link from the client's region), so following the redirect pays the
configured round trip, as a request from that region would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from auth_service.process import FrontEndProcess
from bench.geo_measure import Figure, Subject, median_ms, rtt
from scale_units.ports import free_port
from scale_units.state import ClusterState
from scale_units.wan import Proxy, ProxySpec, Traffic, WanSpec
from scale_units.wan_cluster import round_trips


@contextlib.contextmanager
def front_ends(state: ClusterState, client_region: str, far_region: str) -> Iterator[tuple[str, ProxySpec]]:
    """The client's own front end (its URL), and the far one behind a proxy for that client."""
    far_port, proxy_port = free_port(), free_port()
    spec = ProxySpec(f"frontend-{far_region}", proxy_port, far_port, far_region, source=client_region)
    url = f"http://127.0.0.1:{proxy_port}"
    near = FrontEndProcess(client_region, state.directory, free_port(), tls=False)
    far = FrontEndProcess(far_region, state.directory, far_port, ("--public-url", url), tls=False)
    try:
        far.start()
        near.start()
        yield near.url, spec
    finally:
        near.stop()
        far.stop()


async def redirect_figures(
    state: ClusterState, near_url: str, spec: ProxySpec, subject: Subject, samples: int
) -> dict[str, Figure]:
    assert spec.source is not None
    wan = WanSpec((spec,), {}, round_trips(state.topology))
    server = await Proxy(spec, wan, Traffic()).serve()
    path = f"/{subject.tenant.id}/v2.0/.well-known/openid-configuration"
    far_url = f"http://127.0.0.1:{spec.listen_port}"
    try:
        async with httpx.AsyncClient(timeout=30.0) as http:

            async def get(url: str, follow: bool, status: int) -> None:
                answer = await http.get(url + path, follow_redirects=follow)
                assert answer.status_code == status, (url, answer.status_code, answer.text[:200])

            hop = await median_ms(lambda: get(near_url, False, 307), samples)
            direct = await median_ms(lambda: get(far_url, False, 200), samples)
            followed = await median_ms(lambda: get(near_url, True, 200), samples)
    finally:
        server.close()
        await server.wait_closed()
    expected = rtt(state, spec.source, spec.region)
    return {
        "cost": Figure(f"redirect cost: the 307 from the {spec.source} front end", hop, None, spec.source),
        "direct": Figure(
            f"a client in {spec.source} straight at {spec.region}", direct, expected, spec.region
        ),
        "followed": Figure("the same, by way of the 307", followed, None, spec.region),
    }
