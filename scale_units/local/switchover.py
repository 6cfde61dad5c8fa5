"""Planned switchover: Patroni moves a unit's primary to a replica of its quorum, no write lost.

Patroni stops the old primary cleanly, so the candidate has every commit before it is
promoted; the old primary then follows the new one. We only ask and wait.
"""

from __future__ import annotations

import httpx

from scale_units.errors import ClusterError
from scale_units.leaders import leader, member_views_now, url
from scale_units.local.launcher import wait_streaming
from scale_units.local.patroni import REST_USER
from scale_units.model.types import ScaleUnitId, ServerName
from scale_units.state import ClusterState

SWITCHOVER_TIMEOUT_S = 60.0


def switchover(state: ClusterState, unit_id: ScaleUnitId, candidate: ServerName | None = None) -> ServerName:
    """Hand `unit_id`'s primary over to `candidate` (or Patroni's choice); the new primary's name."""
    unit = state.planned_topology.scale_units.get(unit_id)
    if unit is None:
        raise ClusterError(f"no scale unit {unit_id!r}")
    if candidate is not None and candidate not in {s.name for s in unit.servers}:
        raise ClusterError(f"{candidate} is not a server of {unit_id}")
    current = leader(unit, member_views_now(state.apis))
    if current is None:
        raise ClusterError(f"{unit_id} has no running primary to hand over from")
    if candidate == current.name:
        raise ClusterError(f"{candidate} is already the primary of {unit_id}")
    body = {"leader": current.name, **({"candidate": candidate} if candidate else {})}
    try:
        answer = httpx.post(
            url(state.apis[current.name], "switchover"),
            json=body,
            auth=(REST_USER, state.credentials.patroni),
            timeout=SWITCHOVER_TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        raise ClusterError(f"{current.name}'s Patroni did not answer: {exc}") from None
    if answer.status_code != 200:
        raise ClusterError(f"switchover of {unit_id} refused: {answer.text.strip()}")
    wait_streaming(state)
    new = leader(unit, member_views_now(state.apis))
    if new is None or new.name == current.name:
        raise ClusterError(f"switchover of {unit_id} did not take place")
    return new.name
