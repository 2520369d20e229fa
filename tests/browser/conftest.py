"""Browser fixtures for everyone: Debian's chromium through Playwright (headless), pages that record
console errors and CSP violations, and a live app on a free port.

- ``chromium_browser`` (module): the launched browser (about 1.7 s per module). Missing chromium FAILS
  with the fix (run scripts/sysdeps.sh); browser tests are never skipped. Playwright's sync API keeps
  an event loop marked as running while it is open, so it is module-scoped: keep async tests out of
  modules that use it, and they run fine in every other module.
- ``new_page(locale="en-US")`` (function): a factory of :class:`TrackedPage` in a fresh context.
- ``live_app`` (module): :class:`tests.browser.live_server.LiveServer` with ``public_url`` set to itself.
  ``live_app.call(lambda services: ...)`` runs on the server's loop (read the store, publish on the bus).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server

CHROMIUM = os.environ.get("GLASSDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


def _chromium_path() -> str:
    path = CHROMIUM if os.path.isabs(CHROMIUM) else (shutil.which(CHROMIUM) or CHROMIUM)
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"Debian chromium is not installed at {path}. The browser tests need it: run scripts/sysdeps.sh "
            "(or `sudo apt-get install chromium`), or point GLASSDESK_CHROMIUM at a chromium binary.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extras are installed by `make test`
        pytest.fail(
            "playwright is not installed in the virtualenv: run `make setup` (requirements.lock).", pytrace=False
        )
    from playwright.sync_api import expect

    expect.set_options(timeout=PAGE_TIMEOUT_MS)  # the default of 5 s is tight on a loaded 2-core CI box
    path = _chromium_path()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class TrackedPage:
    """A Playwright page plus what went wrong on it: console errors (CSP violations among them)
    and uncaught page errors."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    ws_frames: list[str] = field(default_factory=list)  # "> sent" / "< received", for failure messages

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]


def _record_frames(ws, frames: list[str]) -> None:  # type: ignore[no-untyped-def]
    ws.on("framesent", lambda payload: frames.append(f"> {str(payload)[:300]}"))
    ws.on("framereceived", lambda payload: frames.append(f"< {str(payload)[:300]}"))
    ws.on("close", lambda _ws: frames.append("closed"))


@pytest.fixture
def new_page(chromium_browser) -> Iterator[Callable[..., TrackedPage]]:  # type: ignore[no-untyped-def]
    contexts = []

    def make(*, locale: str = "en-US") -> TrackedPage:
        context = chromium_browser.new_context(locale=locale)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        tracked = TrackedPage(page=page)
        page.on("console", lambda msg: tracked.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: tracked.page_errors.append(str(exc)))
        page.on("websocket", lambda ws: _record_frames(ws, tracked.ws_frames))
        return tracked

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture(scope="module")
def live_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("browser-app")
    with live_server(lambda base: Settings(var_dir=var_dir, redis_url=redis_url, public_url=base)) as server:
        yield server
