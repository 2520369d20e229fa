"""Business hours as a calendar: business-time arithmetic in one time zone.

A :class:`BusinessCalendar` has several opening periods per weekday and a set of holidays (one-off
dates and dates that recur every year). Everything it takes and returns is an aware datetime; the
periods are wall-clock times in the calendar's zone, turned into instants day by day, so a period
keeps its wall-clock hours across a daylight-saving change (the day itself is an hour shorter or
longer). Pure: no I/O, no clock.

    cal.is_open(at)             # inside a period, not on a holiday
    cal.next_open(at)           # ``at`` when open, else the start of the next period
    cal.add(at, seconds)        # the instant ``seconds`` of business time after ``at``
    cal.elapsed(start, end)     # business seconds between two instants
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

__all__ = ["BusinessCalendar", "Period", "CalendarError", "parse_days", "parse_periods", "parse_week", "WEEKDAYS"]

# the JSON form (``to_spec``/``from_spec``): {"zone": "Europe/Berlin", "week": [["08:00-18:00"], ...],
#   "holidays": ["2026-12-24"], "yearly": ["12-25"]}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MINUTES = 24 * 60
_DAY_RANGE = re.compile(r"(mon|tue|wed|thu|fri|sat|sun)(?:\s*-\s*(mon|tue|wed|thu|fri|sat|sun))?")
_HORIZON_DAYS = 3 * 366  # a search further than this means the calendar has (almost) no hours left


class CalendarError(ValueError):
    """A calendar that cannot be built (overlapping periods, no hours at all, a bad time)."""


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """One opening period of a day, in minutes after local midnight (``end`` may be 1440: 24:00)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end <= _DAY_MINUTES):
            raise CalendarError(f"a period must start before it ends within one day, not {self}")

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def _minutes(text: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise CalendarError(f"{text!r} is not a time; write HH:MM, for example 08:30")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > _DAY_MINUTES:
        raise CalendarError(f"{text!r} is not a time of day; use 00:00 to 24:00")
    return value


def parse_periods(text: str) -> tuple[Period, ...]:
    """``"08:00-12:30, 13:30-18:00"`` -> two periods, sorted; overlapping periods are refused."""
    periods = []
    for part in (p for p in text.split(",") if p.strip()):
        start, sep, end = part.partition("-")
        if not sep:
            raise CalendarError(f"{part.strip()!r} is not a period; write HH:MM-HH:MM, for example 08:00-18:00")
        periods.append(Period(_minutes(start), _minutes(end)))
    return _checked(periods)


def parse_days(text: str) -> list[int]:
    """``"mon-fri"``, ``"sat"``, ``"mon,wed-thu"`` -> weekday numbers (Monday 0)."""
    days: list[int] = []
    for part in text.lower().split(","):
        m = _DAY_RANGE.fullmatch(part.strip())
        if not m:
            raise CalendarError(f"{part.strip()!r} is not a weekday; use mon..sun or a range such as mon-fri")
        first, last = WEEKDAYS.index(m.group(1)), WEEKDAYS.index(m.group(2) or m.group(1))
        if last < first:
            raise CalendarError(
                f"the range {part.strip()!r} runs backwards; write it from the earlier day, e.g. mon-fri"
            )
        days.extend(range(first, last + 1))
    return days


def parse_week(text: str) -> tuple[tuple[Period, ...], ...]:
    """``"08:00-18:00"`` (Monday to Friday) or ``"mon-fri 08:00-12:30, 13:30-18:00; sat 09:00-13:00"``
    -> the periods of the seven weekdays."""
    week: list[tuple[Period, ...]] = [() for _ in WEEKDAYS]
    for part in (p.strip() for p in text.split(";") if p.strip()):
        head, _, rest = part.partition(" ")
        days_text, periods_text = (head, rest) if head[:1].isalpha() else ("mon-fri", part)
        for day in parse_days(days_text):
            if week[day]:
                raise CalendarError(f"{WEEKDAYS[day]} has hours twice; give each weekday once")
            week[day] = parse_periods(periods_text)
    if not any(week):
        raise CalendarError("no opening hours; write for example 08:00-18:00 or mon-fri 08:00-18:00; sat 09:00-13:00")
    return tuple(week)


def _checked(periods: list[Period]) -> tuple[Period, ...]:
    ordered = sorted(periods)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.start < a.end:
            raise CalendarError(f"the periods {a} and {b} overlap; merge them into one or make them follow each other")
    return tuple(ordered)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Opening periods per weekday (Monday first) and holidays, in ``zone``."""

    name: str
    zone: ZoneInfo
    week: tuple[tuple[Period, ...], ...]
    holidays: frozenset[dt.date] = frozenset()
    yearly: frozenset[tuple[int, int]] = frozenset()  # (month, day) closed every year
    _cache: dict[dt.date, tuple[tuple[dt.datetime, dt.datetime], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError(f"calendar {self.name!r}: give the periods of all seven weekdays")
        for day in self.week:
            _checked(list(day))
        if not any(self.week):
            raise CalendarError(f"calendar {self.name!r} has no opening hours on any weekday; add at least one period")

    @property
    def zone_name(self) -> str:
        return str(self.zone.key)

    # -- the stored form -----------------------------------------------------------------------------
    def to_spec(self) -> dict[str, object]:
        return {
            "zone": self.zone_name,
            "week": [[str(p) for p in day] for day in self.week],
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "yearly": sorted(f"{m:02d}-{d:02d}" for m, d in self.yearly),
        }

    @staticmethod
    def from_spec(name: str, spec: dict[str, object]) -> BusinessCalendar:
        week = spec.get("week")
        holidays, yearly = spec.get("holidays") or [], spec.get("yearly") or []
        if not isinstance(week, list) or not isinstance(holidays, list) or not isinstance(yearly, list):
            raise CalendarError(f"calendar {name!r}: the stored definition is not one this version wrote")
        return BusinessCalendar(
            name,
            ZoneInfo(str(spec["zone"])),
            tuple(parse_periods(",".join(str(p) for p in day)) for day in week),
            frozenset(dt.date.fromisoformat(str(d)) for d in holidays),
            frozenset((int(str(md)[:2]), int(str(md)[3:])) for md in yearly),
        )

    # -- days -----------------------------------------------------------------------------------
    def is_holiday(self, day: dt.date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.yearly

    def intervals_on(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The open intervals of one local date as UTC instants (none on a holiday)."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        out: list[tuple[dt.datetime, dt.datetime]] = []
        if not self.is_holiday(day):
            for p in self.week[day.weekday()]:
                start, end = self._instant(day, p.start), self._instant(day, p.end)
                if start < end:  # a period wholly inside a spring-forward gap has no instants
                    out.append((start, end))
        result = tuple(out)
        if len(self._cache) < 4096:
            self._cache[day] = result
        return result

    def _instant(self, day: dt.date, minute: int) -> dt.datetime:
        if minute == _DAY_MINUTES:
            day, minute = day + dt.timedelta(days=1), 0
        local = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self.zone)
        return local.astimezone(dt.UTC)

    def _intervals_from(self, at: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Open intervals ending after ``at``, in order, clipped to start no earlier than ``at``."""
        at = _aware(at).astimezone(dt.UTC)
        day = at.astimezone(self.zone).date() - dt.timedelta(days=1)  # a 24:00 period may reach past midnight
        for offset in range(_HORIZON_DAYS):
            for start, end in self.intervals_on(day + dt.timedelta(days=offset)):
                if end > at:
                    yield max(start, at), end
        raise CalendarError(
            f"calendar {self.name!r} has no opening hours in the {_HORIZON_DAYS} days after {at:%Y-%m-%d}; "
            "check its holidays and periods"
        )

    # -- instants -------------------------------------------------------------------------------
    def is_open(self, at: dt.datetime) -> bool:
        at = _aware(at)
        return any(start <= at < end for start, end in self.intervals_on(at.astimezone(self.zone).date())) or any(
            start <= at < end for start, end in self.intervals_on(at.astimezone(self.zone).date() - dt.timedelta(1))
        )

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """``at`` itself when open, else the start of the next opening period."""
        start, _ = next(self._intervals_from(at))
        return start

    def add(self, at: dt.datetime, seconds: float) -> dt.datetime:
        """The instant when ``seconds`` of business time have passed after ``at`` (0: the next opening
        is not needed, ``at`` itself is returned)."""
        if seconds <= 0:
            return _aware(at).astimezone(dt.UTC)
        left = dt.timedelta(seconds=seconds)
        for start, end in self._intervals_from(at):
            if end - start >= left:
                return start + left
            left -= end - start
        raise AssertionError("unreachable: _intervals_from raises at its horizon")

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> float:
        """Business seconds from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        start, end = _aware(start).astimezone(dt.UTC), _aware(end).astimezone(dt.UTC)
        if end <= start:
            return 0.0
        total = dt.timedelta()
        for a, b in self._intervals_from(start):
            if a >= end:
                break
            total += min(b, end) - a
        return total.total_seconds()


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
