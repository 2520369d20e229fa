"""A calendars file that cannot be used stops start-up in the composition root, with the file, line,
field and fix, before any database or Redis is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.compose import open_container
from services.business_hours import CalendarFileError
from services.settings import Settings


async def test_a_bad_calendars_file_stops_start_up_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "calendars.yaml"
    bad.write_text('calendars:\n  berlin:\n    timezone: Europe/Berlin\n    hours: {mon-fry: "08:00-18:00"}\n')
    settings = Settings(var_dir=tmp_path / "var", calendars_file=str(bad), redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(CalendarFileError) as caught:
        async with open_container(settings, migrate=True):
            raise AssertionError("the container was built despite the bad calendars file")
    assert caught.value.source == str(bad) and caught.value.line == 4 and "mon-fry" in str(caught.value)
    assert not (tmp_path / "var" / "glassdesk.db").exists()  # stopped before the migrations
