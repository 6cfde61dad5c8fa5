"""`GET /metrics`: the Prometheus text format, for the operator credential only (Prometheus
scrapes with it as a bearer token file); anyone else, tenant tokens included, gets 401."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from auth_service.http.deps import operator

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    parts = operator(request)
    return Response(generate_latest(parts.metrics.registry), media_type=CONTENT_TYPE_LATEST)
