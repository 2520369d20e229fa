"""Business-hours calendars as admin-edited data: which calendar each queue works to, and the SLA
targets per queue and priority.

``GLASSDESK_CALENDARS_FILE`` names a YAML file (``services/data/calendars.example.yaml`` shows every
field). Unset, one calendar ``default`` is built from ``GLASSDESK_BUSINESS_HOURS`` (Monday to Friday)
in ``GLASSDESK_TIMEZONE``, and every queue uses it. A bad file is refused with the file, line, field
and how to fix it (:class:`CalendarFileError`)::

    calendars:
      berlin:
        timezone: Europe/Berlin
        hours: {mon-fri: "08:00-12:30, 13:30-18:00", sat: "09:00-13:00"}
        holidays: [2026-12-24, 12-25]     # a date, or MM-DD for every year
    queues: {"*": berlin}                 # "*": every queue not named
    targets:                              # business time: 90m, 4h, 1h30m
      "*": {first_response: 4h, next_response: 4h, resolution: 24h}
      "*/urgent": {first_response: 30m}   # a priority in any queue
      claims: {resolution: 40h}           # a queue; "claims/urgent": both

Targets are merged field by field, the more specific winning: ``*`` < ``queue`` < ``*/priority`` <
``queue/priority``. A policy's ``sla_minutes`` (the handoff action) sets the first-response target of
that handoff, in business minutes."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from conversation.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    CalendarError,
    Period,
    parse_days,
    parse_periods,
    parse_week,
)
from conversation.enums import Priority
from conversation.sla import SlaTargets, TimerKind
from services.settings import Settings

__all__ = [
    "Calendars",
    "CalendarFileError",
    "builtin_calendars",
    "load_calendars",
    "calendars_for",
    "parse_duration",
    "EXAMPLE_FILE",
]

EXAMPLE_FILE = Path(__file__).parent / "data" / "calendars.example.yaml"
DEFAULT_QUEUE = "*"
_BUILTIN_TARGETS: dict[str, dict[TimerKind, float]] = {
    DEFAULT_QUEUE: {
        TimerKind.FIRST_RESPONSE: 4 * 3600,
        TimerKind.NEXT_RESPONSE: 4 * 3600,
        TimerKind.RESOLUTION: 24 * 3600,
    },
    "attention": {TimerKind.FIRST_RESPONSE: 3600},  # turns the automation could not finish
    "approvals": {TimerKind.FIRST_RESPONSE: 2 * 3600},  # drafts waiting for a person's check
}
_DURATION = re.compile(r"\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*")


class CalendarFileError(ValueError):
    """A calendars file that cannot be used: what is wrong, where (file:line, field) and how to fix it."""

    def __init__(self, source: str, line: int, where: str, problem: str) -> None:
        self.source, self.line, self.where, self.problem = source, line, where, problem
        super().__init__(f"{source}:{line}: {where}: {problem}" if where else f"{source}:{line}: {problem}")


def parse_duration(text: str) -> float:
    """``90m``, ``4h``, ``1h30m`` -> seconds of business time."""
    m = _DURATION.fullmatch(str(text))
    if not m or not (m.group(1) or m.group(2)):
        raise ValueError(f"{text!r} is not a duration; write minutes or hours, for example 90m, 4h or 1h30m")
    seconds = (int(m.group(1) or 0) * 60 + int(m.group(2) or 0)) * 60
    if seconds <= 0:
        raise ValueError("a target must be longer than 0 minutes")
    return float(seconds)


@dataclass(frozen=True, slots=True)
class Calendars:
    calendars: Mapping[str, BusinessCalendar]
    queue_calendars: Mapping[str, str]  # queue (or "*") -> calendar name
    targets: Mapping[str, Mapping[TimerKind, float]]  # "*", queue, "*/priority", "queue/priority"
    source: str

    @property
    def default(self) -> BusinessCalendar:
        return self.calendars[self.queue_calendars[DEFAULT_QUEUE]]

    def for_queue(self, queue: str | None) -> BusinessCalendar:
        name = self.queue_calendars.get(queue or "general") or self.queue_calendars[DEFAULT_QUEUE]
        return self.calendars[name]

    def targets_for(
        self, queue: str | None, priority: Priority | str, *, first_response_minutes: int | None = None
    ) -> SlaTargets:
        q, p = queue or "general", Priority(priority).value
        merged: dict[TimerKind, float] = {}
        for key in (DEFAULT_QUEUE, q, f"{DEFAULT_QUEUE}/{p}", f"{q}/{p}"):
            merged.update(_BUILTIN_TARGETS.get(key, {}))
            merged.update(self.targets.get(key, {}))
        if first_response_minutes:
            merged[TimerKind.FIRST_RESPONSE] = float(first_response_minutes) * 60
        return SlaTargets(
            first_response_s=merged[TimerKind.FIRST_RESPONSE],
            next_response_s=merged[TimerKind.NEXT_RESPONSE],
            resolution_s=merged[TimerKind.RESOLUTION],
        )


def builtin_calendars(settings: Settings) -> Calendars:
    """One calendar ``default`` from ``GLASSDESK_BUSINESS_HOURS`` (no holidays)."""
    week = parse_week(settings.business_hours)
    cal = BusinessCalendar("default", _zone(settings.timezone, "GLASSDESK_TIMEZONE"), week)
    return Calendars({"default": cal}, {DEFAULT_QUEUE: "default"}, {}, "GLASSDESK_BUSINESS_HOURS")


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{where}={name!r} is not a known time zone; use an IANA name such as 'Europe/Berlin'"
        ) from None


# -- the file ---------------------------------------------------------------------------------------
class _Reader:
    """Walks the composed YAML nodes, so every problem names its line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node | None, where: str, problem: str) -> CalendarFileError:
        line = node.start_mark.line + 1 if node is not None else 1
        return CalendarFileError(self.source, line, where, problem)

    def mapping(self, node: yaml.Node | None, where: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "expected a mapping of names to values (name: value)")
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, where, "a key must be a plain name")
            out.append((str(key.value), key, value))
        return out

    def scalar(self, node: yaml.Node, where: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, where, "expected a single value, not a list or mapping")
        return str(node.value)

    def scalars(self, node: yaml.Node, where: str) -> list[tuple[str, yaml.Node]]:
        if isinstance(node, yaml.SequenceNode):
            return [(self.scalar(item, where), item) for item in node.value]
        return [(self.scalar(node, where), node)]


def _calendar(r: _Reader, name: str, name_node: yaml.Node, node: yaml.Node) -> BusinessCalendar:
    where = f"calendars.{name}"
    zone: ZoneInfo | None = None
    week: list[list[Period]] = [[] for _ in WEEKDAYS]
    holidays: set[dt.date] = set()
    yearly: set[tuple[int, int]] = set()
    seen_hours = False
    for key, knode, value in r.mapping(node, where):
        if key == "timezone":
            try:
                zone = _zone(r.scalar(value, f"{where}.timezone"), f"{where}.timezone")
            except ValueError as exc:
                raise r.fail(value, f"{where}.timezone", str(exc)) from None
        elif key == "hours":
            seen_hours = True
            for days_text, dnode, periods_node in r.mapping(value, f"{where}.hours"):
                field = f"{where}.hours.{days_text}"
                try:
                    days = parse_days(days_text)
                    periods = [p for text, _ in r.scalars(periods_node, field) for p in parse_periods(text)]
                except ValueError as exc:
                    raise r.fail(dnode, field, str(exc)) from None
                for d in days:
                    if week[d]:
                        raise r.fail(dnode, field, f"{WEEKDAYS[d]} already has hours above; give each weekday once")
                    week[d] = periods
        elif key == "holidays":
            for text, hnode in r.scalars(value, f"{where}.holidays"):
                try:
                    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                        holidays.add(dt.date.fromisoformat(text))
                    elif re.fullmatch(r"\d{2}-\d{2}", text):
                        month, day = int(text[:2]), int(text[3:])
                        dt.date(2024, month, day)  # a leap year: 02-29 is a valid yearly date
                        yearly.add((month, day))
                    else:
                        raise ValueError("format")
                except ValueError:
                    raise r.fail(
                        hnode, f"{where}.holidays", f"{text!r} is not a date; write YYYY-MM-DD, or MM-DD for every year"
                    ) from None
        else:
            raise r.fail(knode, where, f"unknown field {key!r}; a calendar has timezone, hours and holidays")
    if zone is None:
        raise r.fail(name_node, where, "no timezone; add one, for example timezone: Europe/Berlin")
    if not seen_hours:
        raise r.fail(name_node, where, 'no hours; add them, for example hours: {mon-fri: "08:00-18:00"}')
    try:
        return BusinessCalendar(name, zone, tuple(tuple(_) for _ in week), frozenset(holidays), frozenset(yearly))
    except CalendarError as exc:
        raise r.fail(node, where, str(exc)) from None


def _targets(r: _Reader, node: yaml.Node) -> dict[str, dict[TimerKind, float]]:
    out: dict[str, dict[TimerKind, float]] = {}
    priorities = {p.value for p in Priority}
    for key, knode, value in r.mapping(node, "targets"):
        queue, _, priority = key.partition("/")
        if not queue or (priority and priority not in priorities):
            raise r.fail(
                knode,
                f"targets.{key}",
                f"write a queue, *, queue/priority or */priority (priorities: {sorted(priorities)})",
            )
        entry: dict[TimerKind, float] = {}
        for field, fnode, fvalue in r.mapping(value, f"targets.{key}"):
            try:
                kind = TimerKind(field)
            except ValueError:
                raise r.fail(
                    fnode, f"targets.{key}", f"unknown timer {field!r}; use {', '.join(k.value for k in TimerKind)}"
                ) from None
            try:
                entry[kind] = parse_duration(r.scalar(fvalue, f"targets.{key}.{field}"))
            except ValueError as exc:
                raise r.fail(fvalue, f"targets.{key}.{field}", str(exc)) from None
        out[key] = entry
    return out


def load_calendars(text: str, *, source: str = "calendars.yaml") -> Calendars:
    """Parse and check a calendars document (see the module docstring)."""
    r = _Reader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise CalendarFileError(source, line, "", f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    sections: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, knode, value in r.mapping(root, "(top level)"):
        if key not in {"calendars", "queues", "targets"}:
            raise r.fail(knode, "(top level)", f"unknown section {key!r}; use calendars, queues and targets")
        sections[key] = (knode, value)
    if "calendars" not in sections:
        raise r.fail(root, "(top level)", "no calendars section; define at least one calendar under calendars:")
    calendars = {
        name: _calendar(r, name, key, value) for name, key, value in r.mapping(sections["calendars"][1], "calendars")
    }
    if not calendars:
        raise r.fail(sections["calendars"][1], "calendars", "define at least one calendar")
    queues: dict[str, str] = {}
    if "queues" in sections:
        for queue, _, value in r.mapping(sections["queues"][1], "queues"):
            name = r.scalar(value, f"queues.{queue}")
            if name not in calendars:
                raise r.fail(
                    value, f"queues.{queue}", f"no calendar named {name!r}; the calendars are {sorted(calendars)}"
                )
            queues[queue] = name
    if DEFAULT_QUEUE not in queues:
        if len(calendars) > 1:
            node = sections["queues"][0] if "queues" in sections else root
            raise r.fail(node, "queues", 'name the calendar of every other queue with "*": <calendar>')
        queues[DEFAULT_QUEUE] = next(iter(calendars))
    targets = _targets(r, sections["targets"][1]) if "targets" in sections else {}
    return Calendars(calendars, queues, targets, source)


_cache: dict[tuple[str, float], Calendars] = {}
_lock = threading.Lock()


def calendars_for(settings: Settings) -> Calendars:
    """The calendars in force: the file named by ``GLASSDESK_CALENDARS_FILE`` (read again when it
    changes), else the one built from ``GLASSDESK_BUSINESS_HOURS``. Raises :class:`CalendarFileError`
    (or ``ValueError`` for a bad time zone) with what to fix."""
    if not settings.calendars_file:
        key = (f"builtin:{settings.business_hours}:{settings.timezone}", 0.0)
    else:
        path = Path(settings.calendars_file)
        try:
            key = (str(path), os.stat(path).st_mtime)
        except OSError as exc:
            raise CalendarFileError(
                str(path),
                1,
                "GLASSDESK_CALENDARS_FILE",
                f"cannot read the file ({exc.strerror}); fix the path or unset it",
            ) from None
    with _lock:
        found = _cache.get(key)
        if found is None:
            if settings.calendars_file:
                found = load_calendars(path.read_text(encoding="utf-8"), source=str(path))
            else:
                found = builtin_calendars(settings)
            if len(_cache) > 16:
                _cache.clear()
            _cache[key] = found
        return found
