"""The SLA clocks in SQL (tables in ``schema_sla``): start a clock at a handoff, record desk state
changes, and recompute the three timers (:mod:`conversation.sla`) from the conversation's messages and
state log, writing the earliest due into ``conversations.sla_due_at`` so the inbox sorts by it.

A clock keeps the calendar definition it was started or last refreshed with, so this layer counts
business time without the calendars file; :meth:`SqlSlaClocks.refresh` takes the current definition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.calendar import BusinessCalendar
from conversation.enums import AuthorKind, ConversationStatus, Direction, Priority
from conversation.models import utcnow
from conversation.sla import FactKind, SlaFact, SlaTargets, SlaTimers, compute_timers
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware
from conversation.sql.schema_sla import desk_state_log, sla_clocks

__all__ = ["SqlSlaClocks", "SlaClock", "log_desk_state", "recompute_clock"]

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


async def _facts(conn: AsyncConnection, conversation_id: str, since: datetime) -> list[SlaFact]:
    m, log = t.messages, desk_state_log
    facts: list[SlaFact] = []
    rows = await conn.execute(
        select(m.c.created_at, m.c.direction, m.c.author_kind, m.c.meta).where(
            m.c.conversation_id == conversation_id, m.c.created_at >= since
        )
    )
    for r in rows:
        at = aware(r.created_at)
        if r.direction == Direction.INBOUND.value and r.author_kind == AuthorKind.CUSTOMER.value:
            facts.append(SlaFact(at, FactKind.CUSTOMER_MESSAGE))
        elif r.direction == Direction.OUTBOUND.value and (
            r.author_kind == AuthorKind.AGENT.value or (isinstance(r.meta, dict) and r.meta.get("approved_by"))
        ):
            facts.append(SlaFact(at, FactKind.HUMAN_REPLY))
    states = await conn.execute(
        select(log.c.state, log.c.at).where(log.c.conversation_id == conversation_id, log.c.at >= since)
    )
    facts.extend(SlaFact(aware(r.at), FactKind(r.state)) for r in states)
    return facts


async def log_desk_state(conn: AsyncConnection, conversation_id: str, *, state: str, at: datetime) -> None:
    """Record a desk state change (inside the caller's transaction)."""
    await conn.execute(insert(desk_state_log).values(conversation_id=conversation_id, state=state, at=at))


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
