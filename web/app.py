"""The HTTP surface: app factory. Routers live in their own modules."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from flows.bootstrap import Services, open_services
from flows.settings import Settings
from web.health import check_health

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings) as services:
            app.state.services = services
            yield

    app = FastAPI(title="Glassdesk", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        services: Services = request.app.state.services
        ok, body = await check_health(services)
        return JSONResponse(body, status_code=200 if ok else 503)

    for module in _routers():
        app.include_router(module.router)
    return app


def _routers() -> list:  # type: ignore[type-arg]
    """Routers added by the channel, inbox, admin, ops and status modules."""
    import importlib

    found = []
    for name in ("web.sms", "web.chat", "web.status", "web.inbox", "web.admin", "web.ops", "web.feedback"):
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found
