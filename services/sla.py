"""SLA clocks for the handoff paths (the turn's handoff and approval steps, failed-turn escalation):
which calendar and targets a handoff gets, what the customer is told about the time, and the three
timers as a page shows them.

    plan = plan_handoff(settings, queue="general", priority=Priority.NORMAL, now=now)
    text = handoff_notice(language, back_at=plan.back_at)      # names the opening when closed
    await start_clock(services.db, conversation_id, plan=plan, new_episode_since=message.created_at)
    await resume_reopened_clock(services.db, conversation_id, settings=settings)  # a customer message reopened it
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select

from conversation.calendar import BusinessCalendar
from conversation.enums import Priority
from conversation.sla import SlaTargets, SlaTimers, Timer, TimerKind, TimerState
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.desk import DeskState
from conversation.sql.sla_store import SqlSlaClocks, resume_reopened
from services.business_hours import CalendarFileError, Calendars, builtin_calendars, calendars_for
from services.settings import Settings
from services.timefmt import TimeFormatter

__all__ = [
    "HandoffPlan",
    "plan_handoff",
    "start_clock",
    "refresh_clock",
    "resume_without_clock",
    "resume_reopened_clock",
    "timer_rows",
    "TIMER_LABELS",
    "calendars",
]

log = logging.getLogger("glassdesk.sla")

TIMER_LABELS = {
    TimerKind.FIRST_RESPONSE: "First response",
    TimerKind.NEXT_RESPONSE: "Next response",
    TimerKind.RESOLUTION: "Resolution",
}


def calendars(settings: Settings) -> Calendars:
    """The calendars in force. A calendars file that became unreadable or invalid is logged (with
    the line and what to fix) and the built-in calendar is used, so a handoff is never lost to it."""
    try:
        return calendars_for(settings)
    except (CalendarFileError, ValueError) as exc:
        log.error("calendars not usable, using GLASSDESK_BUSINESS_HOURS instead: %s", exc)
        return builtin_calendars(settings)


@dataclass(frozen=True, slots=True)
class HandoffPlan:
    queue: str
    priority: Priority
    calendar: BusinessCalendar
    targets: SlaTargets
    at: dt.datetime

    @property
    def back_at(self) -> dt.datetime | None:
        """The next opening in the calendar's zone, when the handoff is outside business hours."""
        if self.calendar.is_open(self.at):
            return None
        return self.calendar.next_open(self.at).astimezone(self.calendar.zone)

    @property
    def first_response_due(self) -> dt.datetime:
        return self.calendar.add(self.at, self.targets.first_response_s)


def plan_handoff(
    settings: Settings,
    *,
    queue: str,
    priority: Priority,
    sla_minutes: int | None = None,
    now: dt.datetime | None = None,
) -> HandoffPlan:
    """The calendar and targets of a handoff to ``queue`` at ``now``; ``sla_minutes`` (the policy
    action's) sets the first-response target in business minutes."""
    cals = calendars(settings)
    return HandoffPlan(
        queue=queue,
        priority=priority,
        calendar=cals.for_queue(queue),
        targets=cals.targets_for(queue, priority, first_response_minutes=sla_minutes),
        at=now or dt.datetime.now(dt.UTC),
    )


async def start_clock(
    db: Database, conversation_id: str, *, plan: HandoffPlan, new_episode_since: dt.datetime | None
) -> SlaTimers | None:
    """Start the conversation's clock for this handoff and write its earliest due into ``sla_due_at``;
    call it after the conversation is routed. A clock that exists is kept, unless it started before
    ``new_episode_since`` (the customer message that brought the conversation back to a person, when
    it was with the automation)."""
    return await SqlSlaClocks(db).start(
        conversation_id,
        queue=plan.queue,
        priority=plan.priority,
        calendar=plan.calendar,
        targets=plan.targets,
        at=plan.at,
        replaces_before=new_episode_since,
    )


async def refresh_clock(
    db: Database, conversation_id: str, *, settings: Settings, now: dt.datetime | None = None
) -> SlaTimers | None:
    """Recompute after a customer message or a human reply, with the current calendar definition.

    This is also where a conversation that a customer message reopened resumes its SLA, in business
    time: the database trigger only reopens it and keeps the time that was left (migration 0012). With
    a clock, the message ends the pause and the timers count on from it; without one (a conversation
    routed before the clocks existed), the time left is added in the queue's calendar from ``now``."""
    clocks = SqlSlaClocks(db)
    clock = await clocks.clock(conversation_id)
    if clock is None:
        await resume_without_clock(db, conversation_id, settings=settings, now=now)
        return None
    current = calendars(settings).calendars.get(clock.calendar.name)
    return await clocks.refresh(conversation_id, calendar=current, now=now)


async def resume_reopened_clock(
    db: Database, conversation_id: str, *, settings: Settings, now: dt.datetime | None = None
) -> bool:
    """Right after a customer message was stored (the ingest path): when it reopened a pending or
    resolved conversation, whose time left still waits in ``sla_remaining_s``, write its due in
    business time now (:func:`refresh_clock`), so the inbox never shows it paused or due at night.
    One indexed read when nothing waits. True when a due was written."""
    c = t.conversations.c
    async with db.read() as conn:
        row = (await conn.execute(select(c.desk_state, c.sla_remaining_s).where(c.id == conversation_id))).first()
    if row is None or row.sla_remaining_s is None or row.desk_state != DeskState.OPEN.value:
        return False
    await refresh_clock(db, conversation_id, settings=settings, now=now)
    return True


async def resume_without_clock(
    db: Database, conversation_id: str, *, settings: Settings, now: dt.datetime | None = None
) -> dt.datetime | None:
    """The new due of a reopened conversation that has no clock (None: nothing waited to resume)."""
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    async with db.begin() as conn:
        queue = (
            await conn.execute(select(t.conversations.c.queue).where(t.conversations.c.id == conversation_id))
        ).scalar()
        return await resume_reopened(conn, conversation_id, calendar=calendars(settings).for_queue(queue), now=at)


_STATE_TEXT = {
    TimerState.NOT_STARTED: "not started",
    TimerState.RUNNING: "due",
    TimerState.PAUSED: "paused",
    TimerState.BREACHED: "breached",
    TimerState.MET: "met",
    TimerState.MISSED: "missed",
}


def _left(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min of business time left"


def timer_rows(timers: SlaTimers, fmt: TimeFormatter) -> list[dict[str, str]]:
    """The three timers as a page shows them: label, state, and the time that matters (the due of a
    running one, the stop of a finished one, the business time left of a paused one), in the
    operator's zone."""
    rows = []
    timer: Timer
    for timer in timers:
        if timer.state is TimerState.PAUSED:
            text = _left(timer.remaining_s or 0.0)
            at = ""
        elif timer.state in (TimerState.MET, TimerState.MISSED):
            text, at = fmt.full(timer.stopped_at), timer.stopped_at.isoformat() if timer.stopped_at else ""
        elif timer.due_at is not None:
            text, at = fmt.full(timer.due_at), timer.due_at.isoformat()
        else:
            text, at = "", ""
        rows.append(
            {
                "kind": timer.kind.value,
                "label": TIMER_LABELS[timer.kind],
                "state": timer.state.value,
                "state_text": _STATE_TEXT[timer.state],
                "text": text,
                "at": at,
            }
        )
    return rows
