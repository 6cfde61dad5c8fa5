"""The redirect's cost: a client of one geo asks its own region's front end for another geo's
tenant, gets a 307, and follows it across the WAN.

The cluster's own link does the crossing (`scale_units.wan.links`): the 307 names the far
front end's link from the client's region, so following it pays the configured round
trip, as a request from that region would.
"""

from __future__ import annotations

import httpx

from bench.geo.measure import Figure, Subject, median_ms, rtt
from devtools.process import FrontEndProcess
from scale_units.model.topology import Topology


async def redirect_figures(
    topology: Topology, near: FrontEndProcess, far: FrontEndProcess, subject: Subject, samples: int
) -> dict[str, Figure]:
    """`near` is the client's own front end; `far` serves `subject`'s geo."""
    path = f"/{subject.tenant.id}/v2.0/.well-known/openid-configuration"
    async with httpx.AsyncClient(timeout=30.0) as http:

        async def get(url: str, follow: bool, status: int) -> httpx.Response:
            answer = await http.get(url + path, follow_redirects=follow)
            assert answer.status_code == status, (url, answer.status_code, answer.text[:200])
            return answer

        link = (await get(near.url, False, 307)).headers["location"].removesuffix(path)
        assert link != far.url, "a client of another region reaches the far front end by its link"
        hop = await median_ms(lambda: get(near.url, False, 307), samples)
        direct = await median_ms(lambda: get(link, False, 200), samples)
        followed = await median_ms(lambda: get(near.url, True, 200), samples)
    expected = rtt(topology, near.region, far.region)
    return {
        "cost": Figure(f"redirect cost: the 307 from the {near.region} front end", hop, None, near.region),
        "direct": Figure(f"a client in {near.region} straight at {far.region}", direct, expected, far.region),
        "followed": Figure("the same, by way of the 307", followed, None, far.region),
    }
