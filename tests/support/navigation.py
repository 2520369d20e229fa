"""Navigating a staff page that reloads itself on live changes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Error as PlaywrightError

_RACES = ("ERR_ABORTED", "interrupted by another navigation")


def goto_settled(page: Any, url: str, *, attempts: int = 3) -> None:
    """``page.goto(url)``; the page's own reload (a live change) may abort or interrupt it, so it is
    retried: up to ``attempts`` times, and only for that race."""
    for attempt in range(attempts):
        try:
            page.goto(url)
            return
        except PlaywrightError as exc:
            if not any(race in str(exc) for race in _RACES) or attempt == attempts - 1:
                raise
