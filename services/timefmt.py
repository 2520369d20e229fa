"""Times as people read them: in the operator's time zone (``GLASSDESK_TIMEZONE``), with the zone's
abbreviation, so "14:05 CET" on the inbox, the status page, /ops and in emails means the same instant.

Everything is stored in UTC; only what a person reads goes through here. One formatter per process,
built from Settings::

    fmt = TimeFormatter.for_zone(settings.timezone)
    fmt.full(ts)    # "2026-12-02 14:05 CET"
    fmt.clock(ts)   # "14:05 CET"
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["TimeFormatter", "UnknownTimeZone", "local_times"]


class UnknownTimeZone(ValueError):
    """The configured zone is not an IANA name; the message says where it came from and how to fix it."""


@dataclass(frozen=True, slots=True)
class TimeFormatter:
    zone: ZoneInfo

    @staticmethod
    @lru_cache(maxsize=8)
    def for_zone(name: str) -> TimeFormatter:
        try:
            return TimeFormatter(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            raise UnknownTimeZone(
                f"GLASSDESK_TIMEZONE={name!r} is not a known time zone; use an IANA name such as "
                "'Europe/Berlin', 'Europe/Zurich' or 'UTC'."
            ) from None

    @property
    def name(self) -> str:
        return str(self.zone.key)

    def local(self, ts: datetime) -> datetime:
        return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(self.zone)

    def full(self, ts: datetime | None) -> str:
        """``2026-12-02 14:05 CET`` (empty for no time)."""
        return self.local(ts).strftime("%Y-%m-%d %H:%M %Z") if ts else ""

    def clock(self, ts: datetime | None) -> str:
        """``14:05 CET`` (empty for no time)."""
        return self.local(ts).strftime("%H:%M %Z") if ts else ""

    def full_iso(self, iso: str | None) -> str:
        """:meth:`full` of an ISO 8601 string (JSON snapshots carry times as ISO strings)."""
        if not iso:
            return ""
        try:
            return self.full(datetime.fromisoformat(iso))
        except ValueError:
            return ""

    def clock_iso(self, iso: str | None) -> str:
        """:meth:`clock` of an ISO 8601 string."""
        if not iso:
            return ""
        try:
            return self.clock(datetime.fromisoformat(iso))
        except ValueError:
            return ""

    def parse_local(self, value: str) -> datetime:
        """A time a person typed in the operator's zone (``2026-12-03T09:00`` from ``<input
        type=datetime-local>``) as an aware UTC datetime. Raises ValueError with the expected format."""
        try:
            naive = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a time; use YYYY-MM-DDTHH:MM ({self.name})") from None
        local = naive.replace(tzinfo=self.zone) if naive.tzinfo is None else naive
        return local.astimezone(UTC)


def local_times(value: Any, fmt: TimeFormatter) -> dict[str, str]:
    """Every ISO time under an ``…at`` key of a JSON-like snapshot, mapped to the time as people read
    it (``2026-12-02 14:05 CET``), so a page shows the operator's zone instead of the browser's
    without changing the snapshot's own fields."""
    out: dict[str, str] = {}

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for v in item:
                walk(v)
        elif isinstance(item, dict):
            for key, v in item.items():
                if isinstance(key, str) and key.endswith("at") and isinstance(v, str) and len(v) >= 16:
                    text = fmt.full_iso(v)
                    if text:
                        out[v] = text
                else:
                    walk(v)

    walk(value)
    return out
