"""The HTTP surface: app factory. Routers live in their own modules."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from runtime.compose import open_container
from services.container import Container
from services.settings import Settings
from web.access_log import install_access_log_redaction
from web.health import check_health

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    install_access_log_redaction()  # status tokens stay out of uvicorn's access log

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_container(settings) as services:
            app.state.services = services
            yield

    app = FastAPI(title="Glassdesk", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        services: Container = request.app.state.services
        ok, body = await check_health(services)
        return JSONResponse(body, status_code=200 if ok else 503)

    from web import admin, auth, chat, fairness, gdpr, inbox, ops, sms, status

    @app.middleware("http")
    async def no_sniff(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        staff = await auth.current_staff(request)
        return RedirectResponse(auth.home_for(staff.role) if staff else "/login", status_code=303)

    app.add_exception_handler(auth.LoginRequired, auth.login_required_handler)  # type: ignore[arg-type]
    for module in (sms, chat, status, auth, inbox, admin, ops, fairness, gdpr):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    return app
