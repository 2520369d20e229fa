"""A customer message reopens a pending conversation and its SLA resumes in business time (migration
0012_reopen_business_time): the trigger only reopens, the SLA service writes the due with the queue's
calendar. 30 business minutes left, reopened at 21:00 Berlin on a weekday with 9-17 hours: due 09:30."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update

from conversation import ChannelKind, ConversationStatus, InboundMessage, PhoneAddress, Priority
from conversation.sla import TimerState
from conversation.sql import Database, SqlMessageStore
from conversation.sql import schema as t
from conversation.sql.desk import DeskQueries, DeskState
from conversation.sql.desk_store import DeskStore
from services.settings import Settings
from services.sla import calendars, plan_handoff, refresh_clock, start_clock

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = dt.date(2026, 11, 24)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A Berlin time as UTC: the message store keeps UTC (as every write path gives it)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN).astimezone(dt.UTC)


def _settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, business_hours="09:00-17:00", timezone="Europe/Berlin")


async def _conversation(store: SqlMessageStore, number: str, *, at: dt.datetime) -> str:
    result = await store.ingest(
        InboundMessage(
            channel=ChannelKind.SMS, external_id=f"SM{number}-1", address=PhoneAddress(number=number), text="Hallo",
            received_at=at,
        )
    )  # fmt: skip
    cid = result.conversation.id
    await store.route_conversation(cid, ConversationStatus.HANDED_OFF, queue="general", priority=Priority.NORMAL)
    return cid


async def _customer_writes(store: SqlMessageStore, cid: str, number: str, *, at: dt.datetime) -> None:
    await store.ingest(
        InboundMessage(
            channel=ChannelKind.SMS, external_id=f"SM{number}-2", address=PhoneAddress(number=number),
            text="Hier ist das Foto.", conversation_id=cid, received_at=at,
        )
    )  # fmt: skip


async def _row(database: Database, cid: str) -> tuple[str, dt.datetime | None, float | None]:
    row = await DeskQueries(database).row(cid)
    assert row is not None
    return row.desk_state.value, row.sla_due_at, row.sla_remaining_s


async def test_a_reopened_clock_falls_due_next_morning_in_business_time(database: Database, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store, desk = SqlMessageStore(database), DeskStore(database)
    number = "+4915100001201"
    cid = await _conversation(store, number, at=_at(TUESDAY, 15, 59))
    # handed off at 16:00 with a one-hour first response; set pending at 16:30: 30 business minutes left
    plan = plan_handoff(settings, queue="general", priority=Priority.NORMAL, sla_minutes=60, now=_at(TUESDAY, 16))
    await start_clock(database, cid, plan=plan, new_episode_since=None)
    change = await desk.set_state(cid, DeskState.PENDING, now=_at(TUESDAY, 16, 30))
    assert change.sla_remaining_s == 30 * 60

    await _customer_writes(store, cid, number, at=_at(TUESDAY, 21))
    # the database reopened it, and wrote no wall-clock due (21:30 would be one)
    state, due, remaining = await _row(database, cid)
    assert (state, due) == (DeskState.OPEN.value, None)
    assert remaining == 30 * 60

    # the turn's first step refreshes the clock: the first response is due at 09:30 on Wednesday
    timers = await refresh_clock(database, cid, settings=settings, now=_at(TUESDAY, 21))
    assert timers is not None
    assert timers.first_response.state is TimerState.RUNNING
    assert timers.first_response.due_at == _at(TUESDAY + dt.timedelta(days=1), 9, 30)
    state, due, remaining = await _row(database, cid)
    assert (state, remaining) == (DeskState.OPEN.value, None)
    assert due == _at(TUESDAY + dt.timedelta(days=1), 9, 30)


async def test_without_a_clock_the_time_left_resumes_in_the_queues_calendar(database: Database, tmp_path: Path) -> None:
    """A conversation routed before the clocks existed keeps only ``sla_remaining_s``: on reopen it is
    added in the queue's calendar, from the time of the refresh."""
    settings = _settings(tmp_path)
    store = SqlMessageStore(database)
    number = "+4915100001202"
    cid = await _conversation(store, number, at=_at(TUESDAY, 10))
    async with database.begin() as conn:  # pending with 30 minutes left, no clock row
        await conn.execute(
            update(t.conversations)
            .where(t.conversations.c.id == cid)
            .values(desk_state=DeskState.PENDING.value, sla_due_at=None, sla_remaining_s=1800.0)
        )
    await _customer_writes(store, cid, number, at=_at(TUESDAY, 21))
    assert await _row(database, cid) == (DeskState.OPEN.value, None, 1800.0)

    assert await refresh_clock(database, cid, settings=settings, now=_at(TUESDAY, 21)) is None
    state, due, remaining = await _row(database, cid)
    assert (state, remaining) == (DeskState.OPEN.value, None)
    assert due == _at(TUESDAY + dt.timedelta(days=1), 9, 30)
    # a second refresh (a redelivered turn) leaves it there
    assert await refresh_clock(database, cid, settings=settings, now=_at(TUESDAY, 22)) is None
    assert (await _row(database, cid))[1] == _at(TUESDAY + dt.timedelta(days=1), 9, 30)


def test_the_calendar_of_the_test_is_nine_to_five(tmp_path: Path) -> None:
    cal = calendars(_settings(tmp_path)).for_queue("general")
    assert not cal.is_open(_at(TUESDAY, 21)) and cal.is_open(_at(TUESDAY, 9, 30))
