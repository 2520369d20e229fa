"""A real uvicorn serving ``create_app(settings)`` on 127.0.0.1 and a free port, in a background thread.

Used by the browser tests and the chat socket integration tests. ``call(fn)`` runs ``fn(services)`` on
the server's own event loop, so a test can read the store or publish on the live bus exactly as the
app would, without a second set of connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import uvicorn

from services.container import Container
from services.settings import Settings
from web import create_app

__all__ = ["LiveServer", "live_server"]

T = TypeVar("T")
START_TIMEOUT_S = 30.0


@dataclass
class LiveServer:
    base_url: str
    ws_url: str
    settings: Settings
    _loop: asyncio.AbstractEventLoop
    _app: Any

    @property
    def services(self) -> Container:
        return self._app.state.services

    def call(self, fn: Callable[[Container], Awaitable[T]], *, timeout: float = 10.0) -> T:
        """Run ``fn(services)`` on the server's loop and return its result (bounded by ``timeout``)."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(_invoke(fn, self.services), self._loop)
        return future.result(timeout=timeout)

    async def acall(self, fn: Callable[[Container], Awaitable[T]], *, timeout: float = 10.0) -> T:
        """The same from async test code (awaits without blocking the test's own loop)."""
        future = asyncio.run_coroutine_threadsafe(_invoke(fn, self.services), self._loop)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)


async def _invoke(fn: Callable[[Container], Awaitable[T]], services: Container) -> T:
    return await fn(services)


@contextlib.contextmanager
def live_server(settings: Settings | Callable[[str], Settings]) -> Iterator[LiveServer]:
    """Start the app; stop it on exit. Fails (never skips) when the server does not come up.

    ``settings`` may be a function of the base URL (``http://127.0.0.1:<port>``), for settings such
    as ``public_url`` that need the port, which is only known once the socket is bound."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if callable(settings):
        settings = settings(f"http://127.0.0.1:{port}")
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws_ping_interval=None)
    server = uvicorn.Server(config)
    loop_box: list[asyncio.AbstractEventLoop] = []
    errors: list[BaseException] = []

    async def serve() -> None:
        loop_box.append(asyncio.get_running_loop())
        await server.serve(sockets=[sock])

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if errors or not thread.is_alive():
            raise RuntimeError(f"the test web server did not start: {errors[:1]!r}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the test web server did not start within {START_TIMEOUT_S} s")
        time.sleep(0.02)
    try:
        yield LiveServer(
            base_url=f"http://127.0.0.1:{port}",
            ws_url=f"ws://127.0.0.1:{port}/chat/ws",
            settings=settings,
            _loop=loop_box[0],
            _app=app,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
