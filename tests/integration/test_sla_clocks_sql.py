"""SLA clocks in SQL (migration 0010_sla): a handoff's clock writes its first-response due in business
time, a second handoff never moves it, an agent's reply (any write path: the trigger) and a customer's
message move ``sla_due_at`` to the timers that still run, pending pauses them and open resumes them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from conversation import AuthorKind, ChannelKind, ConversationStatus, Direction, InboundMessage, PhoneAddress, Priority
from conversation.calendar import BusinessCalendar, parse_week
from conversation.sla import SlaTargets, TimerState
from conversation.sql import Database, SqlMessageStore
from conversation.sql.desk import DeskQueries, DeskState
from conversation.sql.desk_store import DeskStore
from conversation.sql.schema_sla import desk_state_log
from conversation.sql.sla_store import SqlSlaClocks

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600.0
OFFICE = BusinessCalendar("office", BERLIN, parse_week("08:00-18:00"))
TARGETS = SlaTargets(first_response_s=4 * H, next_response_s=2 * H, resolution_s=24 * H)
FRIDAY_EVENING = dt.datetime(2026, 11, 27, 19, 0, tzinfo=BERLIN)


async def _handed_off(store: SqlMessageStore, number: str) -> str:
    result = await store.ingest(
        InboundMessage(
            channel=ChannelKind.SMS, external_id=f"SM{number}", address=PhoneAddress(number=number), text="Hi"
        )
    )
    cid = result.conversation.id
    await store.route_conversation(cid, ConversationStatus.HANDED_OFF, queue="general", priority=Priority.NORMAL)
    return cid


async def _due(database: Database, cid: str) -> tuple[dt.datetime | None, float | None]:
    row = await DeskQueries(database).row(cid)
    assert row is not None
    return row.sla_due_at, row.sla_remaining_s


async def test_timers_drive_sla_due_at_and_never_override_each_other(database: Database) -> None:
    store, clocks = SqlMessageStore(database), SqlSlaClocks(database)
    cid = await _handed_off(store, "+4915100000901")
    await clocks.start(
        cid, queue="general", priority=Priority.NORMAL, calendar=OFFICE, targets=TARGETS, at=FRIDAY_EVENING,
        replaces_before=None,
    )  # fmt: skip
    monday_noon = dt.datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)
    assert (await _due(database, cid))[0] == monday_noon

    # an escalation on Saturday with a shorter target: the running clock is kept as it is
    await clocks.start(
        cid, queue="attention", priority=Priority.HIGH, calendar=OFFICE,
        targets=SlaTargets(1 * H, 1 * H, 8 * H), at=FRIDAY_EVENING + dt.timedelta(hours=15), replaces_before=None,
    )  # fmt: skip
    assert (await _due(database, cid))[0] == monday_noon

    # an agent's reply written by any path: the database moves the due to the resolution timer
    resolution_due = dt.datetime(2026, 12, 2, 12, 0, tzinfo=BERLIN)  # Mon 10 h + Tue 10 h + Wed 4 h
    await store.append_message(
        cid, "Wir kümmern uns.", direction=Direction.OUTBOUND, author_kind=AuthorKind.AGENT, channel=ChannelKind.SMS
    )
    assert (await _due(database, cid))[0] == resolution_due
    timers = await clocks.timers(cid)
    assert timers is not None and timers.first_response.state is TimerState.MISSED  # replied after Monday noon
    assert timers.first_response.due_at == monday_noon and timers.next_response.state is TimerState.NOT_STARTED

    # the customer writes again: a next-response wait starts; the first response stays where it was
    customer = await store.append_message(
        cid, "Und?", direction=Direction.INBOUND, author_kind=AuthorKind.CUSTOMER, channel=ChannelKind.SMS
    )
    after = await clocks.refresh(cid)
    assert after is not None and after.first_response == timers.first_response
    assert after.next_response.started_at == customer.created_at
    assert after.next_response.due_at == OFFICE.add(customer.created_at, 2 * H)
    assert after.resolution.due_at == resolution_due
    assert (await _due(database, cid))[0] == min(after.next_response.due_at, resolution_due)


async def test_pending_pauses_every_timer_and_open_resumes(database: Database) -> None:
    store, clocks, desk = SqlMessageStore(database), SqlSlaClocks(database), DeskStore(database)
    always = BusinessCalendar("always", ZoneInfo("UTC"), parse_week("mon-sun 00:00-24:00"))
    cid = await _handed_off(store, "+4915100000902")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await clocks.start(
        cid, queue="general", priority=Priority.NORMAL, calendar=always, targets=TARGETS, at=start,
        replaces_before=None,
    )  # fmt: skip
    change = await desk.set_state(cid, DeskState.PENDING)
    assert change.sla_due_at is None and change.sla_remaining_s is not None
    assert 2.9 * H < change.sla_remaining_s <= 3 * H  # the first response had 4 h, one has passed
    assert await _due(database, cid) == (None, change.sla_remaining_s)
    paused = await clocks.timers(cid)
    assert paused is not None and paused.first_response.state is TimerState.PAUSED
    assert paused.resolution.state is TimerState.PAUSED

    reopened = await desk.set_state(cid, DeskState.OPEN)
    assert reopened.sla_due_at is not None and reopened.sla_remaining_s is None
    left = (reopened.sla_due_at - dt.datetime.now(dt.UTC)).total_seconds()
    assert abs(left - change.sla_remaining_s) < 60  # resumed with the time it had left
    async with database.read() as conn:
        states = [
            r.state
            for r in await conn.execute(select(desk_state_log.c.state).where(desk_state_log.c.conversation_id == cid))
        ]
    assert states == ["pending", "open"]


async def test_a_new_episode_replaces_the_clock_but_a_rerun_does_not(database: Database) -> None:
    store, clocks = SqlMessageStore(database), SqlSlaClocks(database)
    cid = await _handed_off(store, "+4915100000903")
    first = dt.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    kw = {"queue": "general", "priority": Priority.NORMAL, "calendar": OFFICE, "targets": TARGETS}
    await clocks.start(cid, at=first, replaces_before=None, **kw)  # type: ignore[arg-type]
    # a re-run of the same handoff after a crash: the message came before the clock started
    await clocks.start(cid, at=first + dt.timedelta(minutes=1), replaces_before=first - dt.timedelta(minutes=1), **kw)  # type: ignore[arg-type]
    clock = await clocks.clock(cid)
    assert clock is not None and clock.handed_off_at == first
    # the conversation was back with the automation; a new message a day later hands it off again
    later = first + dt.timedelta(days=1)
    await clocks.start(cid, at=later, replaces_before=later - dt.timedelta(minutes=1), **kw)  # type: ignore[arg-type]
    clock = await clocks.clock(cid)
    assert clock is not None and clock.handed_off_at == later


async def test_erasure_and_retention_take_the_clock_and_its_log_with_the_conversation(database: Database) -> None:
    from conversation.sql.gdpr import delete_conversations
    from conversation.sql.schema_sla import sla_clocks

    store, clocks, desk = SqlMessageStore(database), SqlSlaClocks(database), DeskStore(database)
    cid = await _handed_off(store, "+4915100000904")
    await clocks.start(
        cid, queue="general", priority=Priority.NORMAL, calendar=OFFICE, targets=TARGETS, at=FRIDAY_EVENING,
        replaces_before=None,
    )  # fmt: skip
    await desk.set_state(cid, DeskState.PENDING)
    async with database.begin() as conn:
        await delete_conversations(conn, [cid])
    async with database.read() as conn:
        left = [
            (await conn.execute(select(table).where(table.c.conversation_id == cid))).first()
            for table in (sla_clocks, desk_state_log)
        ]
    assert left == [None, None]
