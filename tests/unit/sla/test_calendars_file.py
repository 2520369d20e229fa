"""The calendars file (services.business_hours): the shipped example loads, targets merge in the
documented order, and every mistake names the file, line, field and fix. The notices that name the
opening time, in every notice language."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from conversation import Priority
from conversation.replies import NOTICE_LANGUAGES, handoff_notice, review_notice
from services.business_hours import EXAMPLE_FILE, CalendarFileError, calendars_for, load_calendars
from services.settings import Settings
from services.sla import plan_handoff
from services.turn_facts import within_business_hours

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600.0


def test_the_example_file_loads_with_queues_holidays_and_targets() -> None:
    cals = load_calendars(EXAMPLE_FILE.read_text(encoding="utf-8"), source=str(EXAMPLE_FILE))
    assert cals.for_queue("general").name == "berlin" and cals.for_queue("claims").name == "claims-line"
    berlin = cals.for_queue("general")
    assert not berlin.is_open(dt.datetime(2026, 12, 25, 10, 0, tzinfo=BERLIN))  # yearly holiday
    assert not berlin.is_open(dt.datetime(2026, 12, 2, 13, 0, tzinfo=BERLIN))  # lunch break
    assert berlin.is_open(dt.datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN))  # Saturday morning
    normal = cals.targets_for("general", Priority.NORMAL)
    assert (normal.first_response_s, normal.next_response_s, normal.resolution_s) == (4 * H, 4 * H, 24 * H)
    urgent_claim = cals.targets_for("claims", Priority.URGENT)
    assert (urgent_claim.first_response_s, urgent_claim.next_response_s, urgent_claim.resolution_s) == (
        0.5 * H,
        1 * H,
        40 * H,
    )
    assert cals.targets_for("attention", Priority.HIGH).first_response_s == 1 * H  # */high over the built-in 1 h
    assert cals.targets_for("general", Priority.NORMAL, first_response_minutes=90).first_response_s == 90 * 60


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("calendars:\n  a:\n    timezone: Mars/Base\n    hours: {mon: '08:00-18:00'}\n", 3, "not a known time zone"),
        ("calendars:\n  a:\n    timezone: UTC\n    hours:\n      mon-fri: '08:00-12:00, 11:00-13:00'\n", 5, "overlap"),
        ("calendars:\n  a:\n    timezone: UTC\n    hours:\n      mon-fry: '08:00-18:00'\n", 5, "not a weekday"),
        (
            "calendars:\n  a:\n    timezone: UTC\n    hours: {mon: '08:00-18:00'}\n    holidays: [2026-13-01]\n",
            5,
            "YYYY-MM-DD",
        ),
        (
            "calendars:\n  a:\n    timezone: UTC\n    hours: {mon: '08:00-18:00'}\nqueues:\n  claims: b\n",
            6,
            "no calendar named 'b'",
        ),
        (
            "calendars:\n  a:\n    timezone: UTC\n    hours: {mon: '08:00-18:00'}\ntargets:\n  '*': {first_response: soon}\n",
            6,
            "90m, 4h or 1h30m",
        ),
        (
            "calendars:\n  a:\n    timezone: UTC\n    hours: {mon: '08:00-18:00'}\ntargets:\n  '*/vip': {}\n",
            6,
            "priorities",
        ),
        (
            "calendars:\n  a:\n    timezone: UTC\n    hours: {mon: '08:00-18:00'}\n    lunch: 12:00\n",
            5,
            "unknown field",
        ),
        ("calendars:\n  a:\n    timezone: UTC\n", 2, "no hours"),
        ("calendars:\n  a: [oops\n", 3, "not valid YAML"),
    ],
)
def test_a_bad_file_says_what_where_and_how_to_fix(text: str, line: int, needle: str) -> None:
    with pytest.raises(CalendarFileError) as err:
        load_calendars(text, source="cal.yaml")
    assert err.value.line == line, str(err.value)
    assert needle in str(err.value) and str(err.value).startswith(f"cal.yaml:{line}:")


def test_two_calendars_need_a_default_queue() -> None:
    text = "calendars:\n  a: {timezone: UTC, hours: {mon: '08:00-18:00'}}\n  b: {timezone: UTC, hours: {tue: '08:00-18:00'}}\n"
    with pytest.raises(CalendarFileError, match='"\\*": <calendar>'):
        load_calendars(text)


def test_settings_pick_the_file_and_reload_it_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text("calendars:\n  a: {timezone: UTC, hours: {mon-sun: '00:00-24:00'}}\n")
    settings = Settings(var_dir=tmp_path, calendars_file=str(path))
    assert calendars_for(settings).default.name == "a"
    path.write_text("calendars:\n  b: {timezone: UTC, hours: {mon: '08:00-09:00'}}\n")
    import os

    os.utime(path, (1, 1))  # a different mtime, however fast the file system
    assert calendars_for(settings).default.name == "b"
    with pytest.raises(CalendarFileError, match="GLASSDESK_CALENDARS_FILE"):
        calendars_for(Settings(var_dir=tmp_path, calendars_file=str(tmp_path / "missing.yaml")))


def test_business_hours_setting_takes_days_and_several_periods() -> None:
    s = Settings(business_hours="mon-fri 08:00-12:00, 13:00-17:00; sat 09:00-12:00")
    cal = calendars_for(s).default
    assert cal.is_open(dt.datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN))
    assert not cal.is_open(dt.datetime(2026, 12, 4, 12, 30, tzinfo=BERLIN))
    assert within_business_hours(s.business_hours, s.timezone, now=dt.datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN))
    assert within_business_hours("08:00-18:00", "Europe/Berlin", now=dt.datetime(2026, 12, 2, 9, tzinfo=BERLIN))
    with pytest.raises(ValidationError, match="08:00-18:00"):
        Settings(business_hours="8 to 6")


def test_a_handoff_outside_hours_names_the_opening_in_the_notice() -> None:
    settings = Settings()
    friday = dt.datetime(2026, 12, 4, 19, 0, tzinfo=BERLIN)
    plan = plan_handoff(settings, queue="general", priority=Priority.NORMAL, now=friday)
    assert plan.back_at == dt.datetime(2026, 12, 7, 8, 0, tzinfo=BERLIN)
    assert plan.first_response_due == dt.datetime(2026, 12, 7, 12, 0, tzinfo=BERLIN)
    assert "Monday, 7 December 2026 at 08:00 CET" in handoff_notice("en", back_at=plan.back_at)
    assert "Montag, 07.12.2026, 08:00 Uhr (CET)" in handoff_notice("de", back_at=plan.back_at)
    assert "Montag, 07.12.2026" in review_notice("de", back_at=plan.back_at)
    open_now = plan_handoff(settings, queue="general", priority=Priority.NORMAL, now=friday.replace(hour=10))
    assert open_now.back_at is None and handoff_notice("en", back_at=None) == handoff_notice("en")


@pytest.mark.parametrize("language", sorted(NOTICE_LANGUAGES))
def test_every_notice_language_names_the_day_and_time(language: str) -> None:
    back = dt.datetime(2026, 7, 6, 8, 30, tzinfo=BERLIN)  # summer: CEST
    text = handoff_notice(language, back_at=back)
    assert "08:30" in text and "CEST" in text and "2026" in text and "{" not in text
    assert text != handoff_notice(language)
