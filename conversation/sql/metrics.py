"""Read-only figures for the ops dashboard (SQLAlchemy Core), computed in SQL over bounded windows.

Every query starts from an index: inbound messages by ``(direction, created_at)``, timeline events
and decisions by the inbound message id (``causation_id`` / ``inbound_message_id``), conversations
by ``(status, queue)``, the outbox by ``state``. Nothing returns customer content: ids, queue names
and counts only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, exists, func, literal, select

from conversation.enums import AuthorKind, ConversationStatus, Direction, EventType, OutboxState, Route
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.desk import DeskState, effective_state
from conversation.sql.rows import aware

__all__ = [
    "SqlOpsMetrics",
    "OpsFigures",
    "QueueFigure",
    "Latency",
    "SlaBreach",
    "LATENCY_DONE_EVENTS",
    "WAITING_STATES",
]

# The automation's part of a turn ends with the first of these: a reply went out, or a person has it.
LATENCY_DONE_EVENTS = (EventType.SENT, EventType.HANDED_OFF, EventType.AWAITING_AGENT)
WAITING_STATES = (ConversationStatus.AWAITING_AGENT, ConversationStatus.HANDED_OFF)
_OUTBOX_PROBLEMS = (OutboxState.FAILED, OutboxState.AMBIGUOUS)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class QueueFigure:
    queue: str
    awaiting_agent: int  # drafts waiting for approval
    handed_off: int  # with a person
    breached: int  # past sla_due_at


@dataclass(frozen=True, slots=True)
class Latency:
    """Received -> first reply or handoff, in seconds (nearest-rank percentiles)."""

    count: int
    p50_s: float | None
    p95_s: float | None


@dataclass(frozen=True, slots=True)
class SlaBreach:
    conversation_id: str
    queue: str
    priority: str
    status: str
    overdue_min: int


@dataclass(frozen=True, slots=True)
class OpsFigures:
    generated_at: dt.datetime
    queues: tuple[QueueFigure, ...]
    inbound_last_hour: int
    inbound_last_day: int
    per_minute: tuple[int, ...]  # inbound turns per minute, oldest first, the last one is the current minute
    routes_last_day: dict[str, int]
    latency_last_hour: Latency
    latency_last_day: Latency
    sla_breached: int
    sla_oldest: tuple[SlaBreach, ...]
    failed_turns_last_day: int
    outbox_problems: dict[str, int] = field(default_factory=dict)

    @property
    def decided_last_day(self) -> int:
        return sum(self.routes_last_day.values())

    def rate(self, route: Route) -> float | None:
        total = self.decided_last_day
        return round(self.routes_last_day.get(route.value, 0) / total, 4) if total else None


class SqlOpsMetrics:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def figures(self, *, now: dt.datetime | None = None, breach_examples: int = 10) -> OpsFigures:
        now = now or utcnow()
        async with self._db.read() as conn:
            queues = await _all(conn, self._queues(now))
            inbound_hour, inbound_day = (await conn.execute(self._inbound_counts(now))).one()
            per_minute = await _all(conn, self._per_minute(now))
            routes = await _all(conn, self._routes(now))
            latency_hour = (await conn.execute(self._latency(now - HOUR))).one()
            latency_day = (await conn.execute(self._latency(now - DAY))).one()
            breached = (await conn.execute(self._breach_count(now))).scalar_one()
            oldest = await _all(conn, self._oldest_breaches(now, breach_examples))
            failed = (await conn.execute(self._failed_turns(now))).scalar_one()
            outbox = await _all(conn, self._outbox_problems())
        series = [0] * 60
        for minutes_ago, count in per_minute:
            if minutes_ago is not None and 0 <= int(minutes_ago) < 60:
                series[59 - int(minutes_ago)] += int(count)
        return OpsFigures(
            generated_at=now,
            queues=tuple(
                QueueFigure(r.queue, int(r.awaiting or 0), int(r.handed or 0), int(r.breached or 0)) for r in queues
            ),
            inbound_last_hour=int(inbound_hour or 0),
            inbound_last_day=int(inbound_day or 0),
            per_minute=tuple(series),
            routes_last_day={r.route: int(r.n) for r in routes},
            latency_last_hour=_latency(latency_hour),
            latency_last_day=_latency(latency_day),
            sla_breached=int(breached or 0),
            sla_oldest=tuple(
                SlaBreach(
                    r.id, r.queue, r.priority, r.status, max(0, int((now - aware(r.sla_due_at)).total_seconds() // 60))
                )
                for r in oldest
            ),
            failed_turns_last_day=int(failed or 0),
            outbox_problems={r.state: int(r.n) for r in outbox},
        )

    # -- queries ------------------------------------------------------------------------------------
    def _inbound(self, since: dt.datetime) -> Any:
        m = t.messages.c
        return and_(
            m.direction == Direction.INBOUND.value, m.created_at >= since, m.author_kind == AuthorKind.CUSTOMER.value
        )

    def _queues(self, now: dt.datetime) -> Any:
        c = t.conversations.c
        queue = func.coalesce(c.queue, "general")
        waiting = [s.value for s in WAITING_STATES]
        return (
            select(
                queue.label("queue"),
                func.sum(case((c.status == ConversationStatus.AWAITING_AGENT.value, 1), else_=0)).label("awaiting"),
                func.sum(case((c.status == ConversationStatus.HANDED_OFF.value, 1), else_=0)).label("handed"),
                func.sum(case((and_(c.sla_due_at.is_not(None), c.sla_due_at < now), 1), else_=0)).label("breached"),
            )
            # pending, snoozed and resolved conversations wait for nobody (the desk's lifecycle, 0007_desk)
            .where(c.status.in_(waiting), effective_state(now) == DeskState.OPEN.value)
            .group_by(queue)
            .order_by(queue)
        )

    def _inbound_counts(self, now: dt.datetime) -> Any:
        m = t.messages.c
        return select(
            func.sum(case((m.created_at >= now - HOUR, 1), else_=0)),
            func.count(),
        ).where(self._inbound(now - DAY))

    def _per_minute(self, now: dt.datetime) -> Any:
        minutes_ago = self._minutes_between(t.messages.c.created_at, now)
        return (
            select(minutes_ago.label("ago"), func.count().label("n"))
            .where(self._inbound(now - HOUR), t.messages.c.created_at <= now)
            .group_by(minutes_ago)
        )

    def _routes(self, now: dt.datetime) -> Any:
        m, d = t.messages, t.decisions
        return (
            select(d.c.route.label("route"), func.count().label("n"))
            .select_from(m.join(d, d.c.inbound_message_id == m.c.id))
            .where(self._inbound(now - DAY))
            .group_by(d.c.route)
        )

    def _latency(self, since: dt.datetime) -> Any:
        """Nearest-rank p50/p95 in SQL (window functions: SQLite >= 3.25 and PostgreSQL)."""
        m, e = t.messages, t.events
        received = (
            select(func.min(e.c.occurred_at))
            .where(e.c.causation_id == m.c.id, e.c.type == EventType.RECEIVED.value)
            .correlate(m)
            .scalar_subquery()
        )
        done = (
            select(func.min(e.c.occurred_at))
            .where(e.c.causation_id == m.c.id, e.c.type.in_([k.value for k in LATENCY_DONE_EVENTS]))
            .correlate(m)
            .scalar_subquery()
        )
        pairs = select(received.label("received"), done.label("done")).where(self._inbound(since)).subquery()
        seconds = self._seconds_between(pairs.c.received, pairs.c.done)
        durations = (
            select(seconds.label("s")).where(pairs.c.received.is_not(None), pairs.c.done.is_not(None)).subquery()
        )
        ranked = select(
            durations.c.s,
            func.row_number().over(order_by=durations.c.s).label("rn"),
            func.count().over().label("n"),
        ).subquery()
        return select(
            func.count(),
            func.min(case((ranked.c.rn >= 0.5 * ranked.c.n, ranked.c.s))),
            func.min(case((ranked.c.rn >= 0.95 * ranked.c.n, ranked.c.s))),
        )

    def _waiting_breached(self, now: dt.datetime) -> Any:
        c = t.conversations.c
        return and_(c.status.in_([s.value for s in WAITING_STATES]), c.sla_due_at.is_not(None), c.sla_due_at < now)

    def _breach_count(self, now: dt.datetime) -> Any:
        return select(func.count()).select_from(t.conversations).where(self._waiting_breached(now))

    def _oldest_breaches(self, now: dt.datetime, limit: int) -> Any:
        c = t.conversations.c
        return (
            select(c.id, func.coalesce(c.queue, "general").label("queue"), c.priority, c.status, c.sla_due_at)
            .where(self._waiting_breached(now))
            .order_by(c.sla_due_at)
            .limit(limit)
        )

    def _failed_turns(self, now: dt.datetime) -> Any:
        m, e = t.messages, t.events
        failed = exists().where(e.c.causation_id == m.c.id, e.c.type == EventType.FAILED.value)
        return select(func.count()).select_from(m).where(self._inbound(now - DAY), failed)

    def _outbox_problems(self) -> Any:
        o = t.outbox.c
        return (
            select(o.state.label("state"), func.count().label("n"))
            .where(o.state.in_([s.value for s in _OUTBOX_PROBLEMS]))
            .group_by(o.state)
        )

    # -- dialect helpers ----------------------------------------------------------------------------
    def _seconds_between(self, start: Any, end: Any) -> Any:
        if self._db.is_sqlite:
            return (func.julianday(end) - func.julianday(start)) * 86400.0
        return cast(func.extract("epoch", end - start), Float)

    def _minutes_between(self, start: Any, now: dt.datetime) -> Any:
        stamp = literal(now, t.TS)
        if self._db.is_sqlite:
            return cast((func.julianday(stamp) - func.julianday(start)) * 1440.0, Integer)  # truncates: floor for >= 0
        return func.floor(func.extract("epoch", stamp - start) / 60.0)


async def _all(conn: Any, query: Any) -> list[Any]:
    return list(await conn.execute(query))


def _latency(row: Any) -> Latency:
    count, p50, p95 = row
    return Latency(int(count or 0), _round(p50), _round(p95))


def _round(value: Any) -> float | None:
    return None if value is None else round(max(0.0, float(value)), 3)
