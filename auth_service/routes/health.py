"""Health for orchestrators: `/healthz` (the process answers) and `/readyz` (it can serve its geo).

Neither needs a token: a load balancer, compose or a cluster's front-end registry probes
them. `/readyz` names what is missing (503), so an operator reads the reason in the probe.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from auth_service.http.deps import services
from auth_service.http.lean import json_response

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return json_response({"status": "alive"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    parts = services(request)
    reasons = await parts.readiness()
    if reasons:
        return json_response({"status": "unready", "reasons": reasons}, 503)
    return json_response({"status": "ready", "region": parts.region})
