"""The SLA clocks in SQL (tables in ``schema_sla``): start a clock at a handoff, record desk state
changes, and recompute the three timers (:mod:`conversation.sla`) from the conversation's messages and
state log, writing the earliest due into ``conversations.sla_due_at`` so the inbox sorts by it.

A clock keeps the calendar definition it was started or last refreshed with, so this layer counts
business time without the calendars file; :meth:`SqlSlaClocks.refresh` takes the current definition.

A customer message reopens a pending or resolved conversation in the database (trigger
``desk_reopen_on_customer_message``, migration 0012 form): it only sets the state, and leaves the time
that was left in ``sla_remaining_s``. The due is written here, in business time: by
:func:`recompute_clock` for a conversation with a clock, by :func:`resume_reopened` (the queue's
calendar from ``now``) for one without. SQL cannot count business hours, so no trigger writes a due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.calendar import BusinessCalendar
from conversation.enums import AuthorKind, ConversationStatus, Direction, Priority
from conversation.models import utcnow
from conversation.sla import FactKind, SlaFact, SlaTargets, SlaTimers, TimerKind, TimerState, compute_timers
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.desk import DeskState
from conversation.sql.rows import aware
from conversation.sql.schema_sla import desk_state_log, sla_clocks

__all__ = ["SqlSlaClocks", "SlaClock", "QueueBreaches", "log_desk_state", "recompute_clock", "resume_reopened"]

_IN_HUMAN_HANDS = (ConversationStatus.HANDED_OFF.value, ConversationStatus.AWAITING_AGENT.value)


@dataclass(frozen=True, slots=True)
class SlaClock:
    conversation_id: str
    handed_off_at: datetime
    queue: str
    priority: Priority
    calendar: BusinessCalendar
    targets: SlaTargets


def _clock(row: Any) -> SlaClock:
    return SlaClock(
        conversation_id=row.conversation_id,
        handed_off_at=aware(row.handed_off_at),
        queue=row.queue,
        priority=Priority(row.priority),
        calendar=BusinessCalendar.from_spec(row.calendar, dict(row.calendar_spec)),
        targets=SlaTargets(row.first_response_s, row.next_response_s, row.resolution_s),
    )


async def _load(conn: AsyncConnection, conversation_id: str) -> SlaClock | None:
    row = (await conn.execute(select(sla_clocks).where(sla_clocks.c.conversation_id == conversation_id))).first()
    return _clock(row) if row is not None else None


def _message_fact(r: Any) -> SlaFact | None:
    at = aware(r.created_at)
    if r.direction == Direction.INBOUND.value and r.author_kind == AuthorKind.CUSTOMER.value:
        return SlaFact(at, FactKind.CUSTOMER_MESSAGE)
    if r.direction == Direction.OUTBOUND.value and (
        r.author_kind == AuthorKind.AGENT.value or (isinstance(r.meta, dict) and r.meta.get("approved_by"))
    ):
        return SlaFact(at, FactKind.HUMAN_REPLY)
    return None


async def _facts(conn: AsyncConnection, conversation_id: str, since: datetime) -> list[SlaFact]:
    m, log = t.messages, desk_state_log
    facts: list[SlaFact] = []
    rows = await conn.execute(
        select(m.c.created_at, m.c.direction, m.c.author_kind, m.c.meta).where(
            m.c.conversation_id == conversation_id, m.c.created_at >= since
        )
    )
    facts.extend(f for r in rows if (f := _message_fact(r)) is not None)
    states = await conn.execute(
        select(log.c.state, log.c.at).where(log.c.conversation_id == conversation_id, log.c.at >= since)
    )
    facts.extend(SlaFact(aware(r.at), FactKind(r.state)) for r in states)
    return facts


async def log_desk_state(conn: AsyncConnection, conversation_id: str, *, state: str, at: datetime) -> None:
    """Record a desk state change (inside the caller's transaction). Stored as UTC: SQLite keeps the
    wall time it is given, so a time in another zone would read back hours off."""
    await conn.execute(
        insert(desk_state_log).values(conversation_id=conversation_id, state=state, at=at.astimezone(UTC))
    )


async def recompute_clock(conn: AsyncConnection, conversation_id: str, *, now: datetime) -> SlaTimers | None:
    """The three timers of the conversation at ``now``; while it is in a person's hands, its
    ``sla_due_at`` becomes their earliest running due (``sla_remaining_s``: the business seconds left
    while they stand paused). None when the conversation has no clock."""
    clock = await _load(conn, conversation_id)
    if clock is None:
        return None
    facts = await _facts(conn, conversation_id, clock.handed_off_at)
    timers = compute_timers(clock.calendar, clock.targets, handed_off_at=clock.handed_off_at, facts=facts, now=now)
    resolution = timers.resolution
    await conn.execute(
        update(sla_clocks)
        .where(sla_clocks.c.conversation_id == conversation_id)
        .values(due_after_reply=resolution.due_at if resolution.running else None, updated_at=now)
    )
    c = t.conversations.c
    await conn.execute(
        update(t.conversations)
        .where(c.id == conversation_id, c.status.in_(_IN_HUMAN_HANDS))
        .values(sla_due_at=timers.earliest_due, sla_remaining_s=timers.paused_remaining_s)
    )
    return timers


async def resume_reopened(
    conn: AsyncConnection, conversation_id: str, *, calendar: BusinessCalendar, now: datetime
) -> datetime | None:
    """A conversation without a clock that a customer message reopened (desk state open again, the
    time that was left still in ``sla_remaining_s``): it falls due that many business seconds of
    ``calendar`` after ``now``. Returns the new due; None when nothing was waiting to resume."""
    c = t.conversations.c
    row = (
        await conn.execute(
            select(c.sla_remaining_s).where(
                c.id == conversation_id, c.desk_state == DeskState.OPEN.value, c.sla_remaining_s.is_not(None)
            )
        )
    ).first()
    if row is None:
        return None
    due = calendar.add(now, float(row.sla_remaining_s))
    await conn.execute(
        update(t.conversations)
        .where(c.id == conversation_id, c.desk_state == DeskState.OPEN.value, c.sla_remaining_s.is_not(None))
        .values(sla_due_at=due, sla_remaining_s=None)
    )
    return due


@dataclass(frozen=True, slots=True)
class QueueBreaches:
    """Per queue and timer: timers that fell due today and were breached (still running past their
    due, or stopped after it), and those open and breached now. Counts only."""

    queue: str
    today: dict[TimerKind, int]
    open_now: dict[TimerKind, int]


def _count(timers: SlaTimers, *, since: datetime, now: datetime) -> tuple[set[TimerKind], set[TimerKind]]:
    today, open_now = set(), set()
    for timer in timers:
        if timer.due_at is None:
            continue
        breached_now = timer.state is TimerState.BREACHED
        late = breached_now or timer.state is TimerState.MISSED
        if late and since <= timer.due_at <= now:
            today.add(timer.kind)
        if breached_now:
            open_now.add(timer.kind)
    return today, open_now


class SqlSlaClocks:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(
        self,
        conversation_id: str,
        *,
        queue: str,
        priority: Priority,
        calendar: BusinessCalendar,
        targets: SlaTargets,
        at: datetime,
        replaces_before: datetime | None,
    ) -> SlaTimers | None:
        """Start the clock of a handoff at ``at``. A clock that exists already is kept as it is (a
        second handoff or an escalation never moves the first-response due), unless it started before
        ``replaces_before``: the conversation was back with the automation, and the customer message
        at that time began a new episode. A re-run of the same handoff (after a crash) keeps its clock."""
        at = at.astimezone(UTC)  # stored as UTC (SQLite keeps the wall time it is given)
        values = {
            "handed_off_at": at,
            "queue": queue,
            "priority": priority.value,
            "calendar": calendar.name,
            "calendar_spec": calendar.to_spec(),
            "first_response_s": targets.first_response_s,
            "next_response_s": targets.next_response_s,
            "resolution_s": targets.resolution_s,
            "updated_at": at,
        }
        async with self._db.begin() as conn:
            existing = (
                await conn.execute(
                    select(sla_clocks.c.handed_off_at).where(sla_clocks.c.conversation_id == conversation_id)
                )
            ).first()
            if existing is None:
                await conn.execute(insert(sla_clocks).values(conversation_id=conversation_id, **values))
            elif replaces_before is not None and aware(existing.handed_off_at) < replaces_before:
                await conn.execute(
                    update(sla_clocks).where(sla_clocks.c.conversation_id == conversation_id).values(**values)
                )
            return await recompute_clock(conn, conversation_id, now=max(at, utcnow()))

    async def refresh(
        self, conversation_id: str, *, calendar: BusinessCalendar | None = None, now: datetime | None = None
    ) -> SlaTimers | None:
        """Recompute after a change (a customer message, a reply); ``calendar``: the current definition
        of the clock's calendar, taken over when given."""
        async with self._db.begin() as conn:
            if calendar is not None:
                await conn.execute(
                    update(sla_clocks)
                    .where(sla_clocks.c.conversation_id == conversation_id, sla_clocks.c.calendar == calendar.name)
                    .values(calendar_spec=calendar.to_spec())
                )
            return await recompute_clock(conn, conversation_id, now=(now or utcnow()).astimezone(UTC))

    async def clock(self, conversation_id: str) -> SlaClock | None:
        async with self._db.read() as conn:
            return await _load(conn, conversation_id)

    async def timers(self, conversation_id: str, *, now: datetime | None = None) -> SlaTimers | None:
        """The three timers as they stand (read only: for pages)."""
        async with self._db.read() as conn:
            clock = await _load(conn, conversation_id)
            if clock is None:
                return None
            facts = await _facts(conn, conversation_id, clock.handed_off_at)
        return compute_timers(
            clock.calendar, clock.targets, handed_off_at=clock.handed_off_at, facts=facts, now=now or utcnow()
        )

    async def breaches(self, *, since: datetime, now: datetime | None = None) -> list[QueueBreaches]:
        """SLA breaches per queue (the queue of the clock): timers whose due fell in ``[since, now]``
        and were breached, and timers open and past their due at ``now``. Reads the clocks of
        conversations that are not closed or that changed since ``since``, and their facts, in
        three queries; the timers are computed in business time like everywhere else."""
        now = (now or utcnow()).astimezone(UTC)
        since = since.astimezone(UTC)
        s, c, m, log = sla_clocks, t.conversations.c, t.messages, desk_state_log
        async with self._db.read() as conn:
            clocks = {
                r.conversation_id: _clock(r)
                for r in await conn.execute(
                    select(s)
                    .join(t.conversations, t.conversations.c.id == s.c.conversation_id)
                    .where(or_(c.desk_state != DeskState.CLOSED.value, s.c.updated_at >= since, c.updated_at >= since))
                )
            }
            facts: dict[str, list[SlaFact]] = {cid: [] for cid in clocks}
            if clocks:
                ids = list(clocks)
                for r in await conn.execute(
                    select(m.c.conversation_id, m.c.created_at, m.c.direction, m.c.author_kind, m.c.meta)
                    .join(s, s.c.conversation_id == m.c.conversation_id)
                    .where(and_(m.c.conversation_id.in_(ids), m.c.created_at >= s.c.handed_off_at))
                ):
                    if (f := _message_fact(r)) is not None:
                        facts[r.conversation_id].append(f)
                for r in await conn.execute(
                    select(log.c.conversation_id, log.c.state, log.c.at).where(log.c.conversation_id.in_(ids))
                ):
                    facts[r.conversation_id].append(SlaFact(aware(r.at), FactKind(r.state)))
        by_queue: dict[str, QueueBreaches] = {}
        for cid, clock in clocks.items():
            timers = compute_timers(
                clock.calendar, clock.targets, handed_off_at=clock.handed_off_at, facts=facts[cid], now=now
            )
            today, open_now = _count(timers, since=since, now=now)
            if not today and not open_now:
                continue
            q = by_queue.setdefault(
                clock.queue, QueueBreaches(clock.queue, dict.fromkeys(TimerKind, 0), dict.fromkeys(TimerKind, 0))
            )
            for kind in today:
                q.today[kind] += 1
            for kind in open_now:
                q.open_now[kind] += 1
        return sorted(by_queue.values(), key=lambda q: q.queue)
