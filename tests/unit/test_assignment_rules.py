"""The pure rules of auto-assignment: presence from the chosen mode and the last heartbeat, and skill
names as an admin types them."""

from __future__ import annotations

import datetime as dt

import pytest

from conversation.sql.assignment_store import PresenceMode
from services.assignment import AssignmentRefused, Presence, clean_skills, presence_of

NOW = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)
AWAY, OFF = dt.timedelta(seconds=60), dt.timedelta(seconds=300)


@pytest.mark.parametrize(
    ("mode", "ago_s", "expected"),
    [
        (PresenceMode.ONLINE, 0, Presence.ONLINE),
        (PresenceMode.ONLINE, 59, Presence.ONLINE),
        (PresenceMode.ONLINE, 60, Presence.AWAY),
        (PresenceMode.ONLINE, 299, Presence.AWAY),
        (PresenceMode.ONLINE, 300, Presence.OFFLINE),
        (PresenceMode.AWAY, 0, Presence.AWAY),
        (PresenceMode.AWAY, 300, Presence.OFFLINE),
        (PresenceMode.ONLINE, None, Presence.OFFLINE),
    ],
)
def test_presence_from_mode_and_heartbeat(mode: PresenceMode, ago_s: int | None, expected: Presence) -> None:
    seen = None if ago_s is None else NOW - dt.timedelta(seconds=ago_s)
    assert presence_of(mode, seen, now=NOW, away_after=AWAY, offline_after=OFF) is expected


def test_skills_are_lower_case_sorted_and_unique() -> None:
    assert clean_skills([" German", "claims", "german", "de-CH", "a.b_c"]) == ("a.b_c", "claims", "de-ch", "german")
    assert clean_skills([]) == ()


@pytest.mark.parametrize("bad", ["", "two words", "-leading", "x" * 65, "<b>"])
def test_a_bad_skill_says_which_one_and_how_to_fix_it(bad: str) -> None:
    with pytest.raises(AssignmentRefused, match=r"skills\[1\] .* is not a skill name: use 1 to 64 letters"):
        clean_skills(["ok", bad])


def test_too_many_skills_are_refused() -> None:
    with pytest.raises(AssignmentRefused, match="at most 20 skills; remove 1"):
        clean_skills([f"s{i}" for i in range(21)])
