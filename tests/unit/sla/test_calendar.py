"""Business-time arithmetic (conversation.calendar): worked examples a person can check on a wall
calendar, and properties over random calendars in several zones across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conversation.calendar import BusinessCalendar, CalendarError, Period, parse_periods, parse_week

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600.0


def berlin(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=BERLIN)


def office(**kw) -> BusinessCalendar:  # type: ignore[no-untyped-def]
    """Monday to Friday 08:00-18:00 in Berlin."""
    return BusinessCalendar("office", BERLIN, parse_week("08:00-18:00"), **kw)


# -- worked examples ------------------------------------------------------------------------------
def test_friday_evening_plus_four_hours_is_monday_noon() -> None:
    cal = office()
    friday = berlin(2026, 12, 4, 19, 0)
    assert not cal.is_open(friday)
    assert cal.next_open(friday) == berlin(2026, 12, 7, 8, 0)
    assert cal.add(friday, 4 * H) == berlin(2026, 12, 7, 12, 0)
    assert cal.elapsed(friday, berlin(2026, 12, 7, 12, 0)) == 4 * H


def test_21_08_in_berlin_is_closed_and_the_due_falls_in_the_morning() -> None:
    """The bug report: at 21:08 the acknowledgement promised a reply soon and the SLA fell due at night."""
    cal = office()
    evening = berlin(2026, 12, 2, 21, 8)  # a Wednesday
    assert not cal.is_open(evening)
    due = cal.add(evening, 1 * H).astimezone(BERLIN)
    assert due == berlin(2026, 12, 3, 9, 0) and cal.is_open(due - dt.timedelta(seconds=1))


def test_several_periods_a_day_skip_the_lunch_break() -> None:
    cal = BusinessCalendar("split", BERLIN, parse_week("mon-fri 08:00-12:00, 13:00-17:00"))
    assert not cal.is_open(berlin(2026, 12, 2, 12, 30))
    assert cal.add(berlin(2026, 12, 2, 11, 0), 2 * H) == berlin(2026, 12, 2, 14, 0)
    assert cal.elapsed(berlin(2026, 12, 2, 7, 0), berlin(2026, 12, 2, 20, 0)) == 8 * H
    assert cal.next_open(berlin(2026, 12, 2, 12, 15)) == berlin(2026, 12, 2, 13, 0)


def test_holidays_one_off_and_yearly_are_closed() -> None:
    cal = office(holidays=frozenset({dt.date(2026, 12, 24)}), yearly=frozenset({(12, 25)}))
    # Wednesday 23 Dec 17:00 + 4 h: 1 h on Wednesday, Thursday 24 and Friday 25 closed, the weekend -> Monday 11:00
    assert cal.add(berlin(2026, 12, 23, 17, 0), 4 * H) == berlin(2026, 12, 28, 11, 0)
    assert not cal.is_open(berlin(2028, 12, 25, 10, 0))  # a Monday, closed every year


@pytest.mark.parametrize(
    ("day", "utc_start"),
    [
        (dt.date(2026, 3, 27), dt.datetime(2026, 3, 27, 7, 0, tzinfo=dt.UTC)),  # Friday before: CET
        (dt.date(2026, 3, 30), dt.datetime(2026, 3, 30, 6, 0, tzinfo=dt.UTC)),  # Monday after: CEST
        (dt.date(2026, 10, 23), dt.datetime(2026, 10, 23, 6, 0, tzinfo=dt.UTC)),
        (dt.date(2026, 10, 26), dt.datetime(2026, 10, 26, 7, 0, tzinfo=dt.UTC)),
    ],
)
def test_periods_keep_their_wall_clock_across_daylight_saving(day: dt.date, utc_start: dt.datetime) -> None:
    cal = office()
    ((start, end),) = cal.intervals_on(day)
    assert start == utc_start and end - start == dt.timedelta(hours=10)


def test_a_day_open_around_the_clock_is_23_or_25_hours_on_the_change() -> None:
    cal = BusinessCalendar("always", BERLIN, parse_week("mon-sun 00:00-24:00"))
    assert cal.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H
    assert cal.elapsed(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * H
    assert cal.add(berlin(2026, 3, 29), 23 * H) == berlin(2026, 3, 30)


def test_a_week_over_the_spring_change_still_has_fifty_business_hours() -> None:
    cal = office()
    assert cal.elapsed(berlin(2026, 3, 23), berlin(2026, 3, 30)) == 50 * H
    assert cal.elapsed(berlin(2026, 3, 30), berlin(2026, 4, 6)) == 50 * H


def test_bad_calendars_say_what_to_fix() -> None:
    with pytest.raises(CalendarError, match="overlap"):
        parse_periods("08:00-12:00, 11:00-14:00")
    with pytest.raises(CalendarError, match="HH:MM"):
        parse_periods("8-12")
    with pytest.raises(CalendarError, match="24:00"):
        parse_periods("08:00-25:00")
    with pytest.raises(CalendarError, match="no opening hours"):
        BusinessCalendar("empty", BERLIN, ((),) * 7)
    with pytest.raises(CalendarError, match="weekday"):
        parse_week("mon-fry 08:00-18:00")


def test_the_stored_form_round_trips() -> None:
    cal = BusinessCalendar(
        "x",
        BERLIN,
        parse_week("mon-fri 08:00-12:30, 13:30-18:00; sat 09:00-13:00"),
        frozenset({dt.date(2026, 12, 24)}),
        frozenset({(1, 1)}),
    )
    again = BusinessCalendar.from_spec("x", cal.to_spec())
    assert again.week == cal.week and again.holidays == cal.holidays and again.yearly == cal.yearly
    assert again.zone_name == "Europe/Berlin"


# -- properties -----------------------------------------------------------------------------------
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/Sao_Paulo"]


@st.composite
def day_periods(draw: st.DrawFn) -> tuple[Period, ...]:
    cuts = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return tuple(Period(cuts[i] * 30, cuts[i + 1] * 30) for i in range(0, len(cuts), 2))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    week = [draw(day_periods()) for _ in range(7)]
    assume(any(week))
    holidays = draw(st.sets(st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)), max_size=20))
    return BusinessCalendar("p", ZoneInfo(draw(st.sampled_from(ZONES))), tuple(week), frozenset(holidays))


instants = st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2027, 12, 1), timezones=st.just(dt.UTC))
durations = st.floats(min_value=0, max_value=120 * H, allow_nan=False).map(lambda s: round(s))

_SETTINGS = settings(max_examples=80, deadline=None)


@_SETTINGS
@given(calendars(), instants, durations)
def test_elapsed_undoes_add(cal: BusinessCalendar, at: dt.datetime, seconds: float) -> None:
    due = cal.add(at, seconds)
    assert due >= at
    assert abs(cal.elapsed(at, due) - seconds) < 1e-6


@_SETTINGS
@given(calendars(), instants, durations, durations)
def test_add_is_monotonic_and_composes(cal: BusinessCalendar, at: dt.datetime, a: float, b: float) -> None:
    assert cal.add(at, min(a, b)) <= cal.add(at, max(a, b))
    if a > 0:  # from an instant reached by adding, adding more continues the same count
        assert cal.add(cal.add(at, a), b) == cal.add(at, a + b)


@_SETTINGS
@given(
    calendars(),
    instants,
    st.timedeltas(dt.timedelta(0), dt.timedelta(days=20)),
    st.timedeltas(dt.timedelta(0), dt.timedelta(days=20)),
)
def test_elapsed_is_additive(cal: BusinessCalendar, a: dt.datetime, d1: dt.timedelta, d2: dt.timedelta) -> None:
    b, c = a + d1, a + d1 + d2
    assert abs(cal.elapsed(a, b) + cal.elapsed(b, c) - cal.elapsed(a, c)) < 1e-6
    assert cal.elapsed(a, c) <= (c - a).total_seconds() + 1e-6


@_SETTINGS
@given(calendars(), instants)
def test_next_open_is_open_and_nothing_is_open_before_it(cal: BusinessCalendar, at: dt.datetime) -> None:
    opening = cal.next_open(at)
    assert opening >= at and cal.is_open(opening)
    assert cal.elapsed(at, opening) == 0
    assert cal.is_open(at) == (opening == at)


@_SETTINGS
@given(calendars(), instants)
def test_is_open_matches_the_wall_clock(cal: BusinessCalendar, at: dt.datetime) -> None:
    """Away from a daylight-saving change, open means: not a holiday, and the local time lies in a
    period of that weekday."""
    local = at.astimezone(cal.zone)
    day = local.date()
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=cal.zone)
    late = dt.datetime(day.year, day.month, day.day, 23, 59, tzinfo=cal.zone)
    assume(midnight.utcoffset() == late.utcoffset())
    minute = local.hour * 60 + local.minute
    expected = day not in cal.holidays and any(p.start <= minute < p.end for p in cal.week[day.weekday()])
    assert cal.is_open(at) == expected
