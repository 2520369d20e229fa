"""The HTTP surface: app factory. Routers live in their own modules."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
            # The start-up heap (about 260,000 objects: every module, the container) leaves the cyclic
            # GC's view until shutdown: a full collection scanned it in about 150 ms, stalling every
            # request in flight (the SMS webhook's p99; bench/sms_edge.py).
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
                from web.customer_panel import close_panel_backoffice

                await close_panel_backoffice(app.state)

    app = FastAPI(title="Glassdesk", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        services: Container = request.app.state.services
        ok, body = await check_health(services)
        return JSONResponse(body, status_code=200 if ok else 503)

    from web import admin, auth, chat, desk_people, fairness, gdpr, inbox, ops, sms, status

    def no_sniff(inner: ASGIApp) -> ASGIApp:
        """X-Content-Type-Options: nosniff on every HTTP response that does not set it. Plain ASGI:
        Starlette's BaseHTTPMiddleware ran each request in extra tasks and wrapped every receive,
        about a third of the SMS webhook's CPU (bench/sms_edge.py)."""

        async def with_header(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return await inner(scope, receive, send)

            async def send_with_header(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", ()))
                    if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                        message = {**message, "headers": [*headers, (b"x-content-type-options", b"nosniff")]}
                await send(message)

            await inner(scope, receive, send_with_header)

        return with_header

    app.add_middleware(no_sniff)

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        staff = await auth.current_staff(request)
        return RedirectResponse(auth.home_for(staff.role) if staff else "/login", status_code=303)

    app.add_exception_handler(auth.LoginRequired, auth.login_required_handler)  # type: ignore[arg-type]
    for module in (sms, chat, status, auth, inbox, admin, ops, fairness, gdpr, desk_people):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    return app
