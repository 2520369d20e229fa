"""A small pool of headless Chromium browsers (Debian's ``/usr/bin/chromium`` through Playwright).

Each lookup gets a fresh browser context (no cookies or storage from another customer's lookup) and one
page, pinned to the portal's origin: requests anywhere else are aborted. At most ``max_contexts`` contexts
are open at once across at most ``max_browsers`` browsers; a caller beyond that waits for a slot (inside
its own time budget). Browsers start on first use (or :meth:`warm_up`) and a crashed one is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from knowledge.backoffice.chromium import CHROMIUM, CHROMIUM_ARGS
from knowledge.backoffice.robot import PoolConfig

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "BrowserPool", "PoolConfig"]


@dataclass
class _Slot:
    browser: Browser
    active: int = 0


class BrowserPool:
    def __init__(
        self,
        config: PoolConfig,
        *,
        executable: Path = CHROMIUM,
        args: tuple[str, ...] = CHROMIUM_ARGS,
        launch_timeout_seconds: float = 30.0,
    ) -> None:
        self.config = config
        self._executable = executable
        self._args = args
        self._launch_timeout_ms = launch_timeout_seconds * 1000
        self._free = asyncio.Semaphore(config.max_contexts)
        self._lock = asyncio.Lock()
        self._slots: list[_Slot] = []
        self._playwright: Playwright | None = None
        self._closed = False
        self.launched = 0
        self.in_use = 0
        self.peak = 0  # most contexts open at once since start: never above ``max_contexts``

    @property
    def browsers(self) -> int:
        return sum(1 for s in self._slots if s.browser.is_connected())

    async def warm_up(self) -> None:
        """Start the first browser now rather than in the first lookup."""
        async with self._lock:
            if not self._slots:
                self._slots.append(_Slot(await self._launch()))

    @contextlib.asynccontextmanager
    async def page(self, *, origin: str) -> AsyncIterator[Page]:
        """A page in a fresh context that may only load URLs under ``origin`` (scheme://host:port)."""
        async with self._free:
            slot = await self._pick()
            slot.active += 1
            self.in_use += 1
            self.peak = max(self.peak, self.in_use)
            try:
                context = await slot.browser.new_context(
                    service_workers="block",
                    accept_downloads=False,
                    locale="en-US",
                    viewport={"width": 1280, "height": 900},
                )
                try:
                    await context.route(lambda url: not _within(url, origin), lambda route: route.abort())
                    yield await context.new_page()
                finally:
                    with contextlib.suppress(PlaywrightError):
                        await context.close()
            finally:
                slot.active -= 1
                self.in_use -= 1

    async def _pick(self) -> _Slot:
        async with self._lock:
            if self._closed:
                raise RuntimeError("the browser pool is closed")
            self._slots = [s for s in self._slots if s.browser.is_connected() or s.active]
            live = [s for s in self._slots if s.browser.is_connected()]
            per_browser = math.ceil(self.config.max_contexts / self.config.max_browsers)
            best = min(live, key=lambda s: s.active, default=None)
            if best is not None and (best.active < per_browser or len(live) >= self.config.max_browsers):
                return best
            slot = _Slot(await self._launch())
            self._slots.append(slot)
            return slot

    async def _launch(self) -> Browser:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        browser = await self._playwright.chromium.launch(
            executable_path=str(self._executable),
            headless=True,
            args=list(self._args),
            timeout=self._launch_timeout_ms,
        )
        self.launched += 1
        return browser

    async def aclose(self) -> None:
        async with self._lock:
            self._closed = True
            for slot in self._slots:
                with contextlib.suppress(PlaywrightError):
                    await slot.browser.close()
            self._slots.clear()
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None


def _within(url: str, origin: str) -> bool:
    return url == origin or url.startswith(origin + "/")
