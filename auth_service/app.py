"""The ASGI application: routes, error mapping, and the front end's lifetime.

What the server runs is our own per-request layer (`Guard`) around `HotPaths`, which answers
the lean routes itself and hands everything else to the FastAPI app (`create_api`).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from auth_service.frontend import FrontEnd
from auth_service.http import http_errors, openapi
from auth_service.http.guard import Guard
from auth_service.http.hot import HotPaths
from auth_service.routes import (
    assignments,
    audits,
    authorize,
    batch,
    deleted_items,
    delta,
    directory,
    health,
    metrics,
    oauth,
    oidc,
    operator,
    organization,
    sessions,
)


def create_app(frontend: FrontEnd) -> ASGIApp:
    """The front end as the server calls it."""
    api = create_api(frontend)
    entry = around(frontend, HotPaths(api))
    api.state.entry = entry
    return entry


def around(frontend: FrontEnd, inner: ASGIApp) -> ASGIApp:
    """The one layer every request passes, hot or not: every answer, the deadline's 503
    included, has its ids and is counted."""
    services = frontend.services
    return Guard(inner, services.tenants.locate, services.confinement.elsewhere, counts=services.metrics.http)


def create_api(frontend: FrontEnd) -> FastAPI:
    """Every route, documented; `state.entry` (set by `create_app`) is the whole front end, for
    `$batch`'s sub-requests."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await frontend.start()
        app.openapi()  # built once, now, rather than by the first request that asks
        # The start-up heap (~146k objects: FastAPI, pydantic, SQLAlchemy, the document) is
        # never garbage; frozen, a full collection scans only what requests left behind.
        # Unfrozen, full collections stalled every request for 50-100 ms every ~3 s of http-read.
        gc.freeze()
        yield
        await frontend.close()

    app = FastAPI(
        title="Core Store front end",
        version="0.1.0",
        description=f"Stateless authentication and Graph-shaped directory API ({frontend.region}).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    services = frontend.services
    app.state.services = services
    http_errors.install(app)
    openapi.install(app)
    app.include_router(delta.router)  # before directory's /users/{id}, which `delta` would match
    app.include_router(directory.router)
    app.include_router(organization.router)
    app.include_router(sessions.router)
    app.include_router(audits.router)
    app.include_router(deleted_items.router)
    app.include_router(assignments.router)
    app.include_router(batch.router)
    app.include_router(operator.router)
    app.include_router(oauth.router)
    app.include_router(authorize.router)
    app.include_router(oidc.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app
