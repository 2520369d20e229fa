"""Outcome figures for the ops dashboard over one window (the day so far in the operator's zone),
computed from stored data only (SQLAlchemy Core):

- **first-response time**: conversations started in the window, from the customer's first message to
  the first reply that went out (written by the AI or a person; notices and surveys do not count);
- **resolution time**: resolutions in the window, from the first customer message of the case
  (since the last resolution the customer confirmed) to Resolve;
- **automation rate**: of the resolutions the customer confirmed ("yes, solved"), the share that no
  person replied to (no agent text, no AI draft a person approved);
- **CSAT** overall, per queue and per agent (the person who resolved): the share of 4 and 5 among the
  1-5 ratings, with the average;
- **handoff reasons**: why conversations went to a person, by the closed set of reasons.

Ids, queue names, staff usernames and numbers only."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select

from conversation.enums import AuthorKind, Direction
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware
from conversation.sql.schema_outcomes import handoffs, outcomes

__all__ = ["OutcomeMetrics", "OutcomeFigures", "Duration", "Csat", "QueueTimes"]

_REPLY_AUTHORS = (AuthorKind.AI.value, AuthorKind.AGENT.value)


@dataclass(frozen=True, slots=True)
class Duration:
    count: int
    median_s: float | None
    mean_s: float | None

    @staticmethod
    def of(values: Iterable[float]) -> Duration:
        data = sorted(max(0.0, v) for v in values)
        if not data:
            return Duration(0, None, None)
        return Duration(len(data), round(statistics.median(data), 1), round(statistics.fmean(data), 1))


@dataclass(frozen=True, slots=True)
class Csat:
    """``key``: a queue or an agent ("" for the total). ``csat``: share of ratings 4 and 5."""

    key: str
    ratings: int
    average: float | None
    csat: float | None
    confirmed: int  # resolutions the customer confirmed solved
    not_solved: int

    @staticmethod
    def of(key: str, rows: list[Any]) -> Csat:
        ratings = [int(r.rating) for r in rows if r.rating is not None]
        return Csat(
            key=key,
            ratings=len(ratings),
            average=round(statistics.fmean(ratings), 2) if ratings else None,
            csat=round(sum(1 for r in ratings if r >= 4) / len(ratings), 4) if ratings else None,
            confirmed=sum(1 for r in rows if r.solved is True),
            not_solved=sum(1 for r in rows if r.solved is False),
        )


@dataclass(frozen=True, slots=True)
class QueueTimes:
    queue: str
    first_response: Duration
    resolution: Duration


@dataclass(frozen=True, slots=True)
class OutcomeFigures:
    since: dt.datetime
    until: dt.datetime
    conversations: int  # started in the window
    unanswered: int  # of those, still without a first reply
    first_response: Duration
    resolution: Duration
    resolved: int
    surveys_asked: int
    surveys_answered: int
    confirmed: int
    automated_confirmed: int
    total: Csat
    by_queue: tuple[Csat, ...]
    by_agent: tuple[Csat, ...]
    times_by_queue: tuple[QueueTimes, ...]
    handoff_reasons: dict[str, int]

    @property
    def automation_rate(self) -> float | None:
        return round(self.automated_confirmed / self.confirmed, 4) if self.confirmed else None


class OutcomeMetrics:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def figures(self, *, since: dt.datetime, until: dt.datetime) -> OutcomeFigures:
        async with self._db.read() as conn:
            firsts = list(await conn.execute(self._first_responses(since, until)))
            resolved = list(
                await conn.execute(
                    select(outcomes).where(outcomes.c.resolved_at >= since, outcomes.c.resolved_at < until)
                )
            )
            reasons = list(
                await conn.execute(
                    select(handoffs.c.reason, func.count().label("n"))
                    .where(handoffs.c.at >= since, handoffs.c.at < until)
                    .group_by(handoffs.c.reason)
                )
            )
        waits: dict[str, list[float]] = defaultdict(list)
        unanswered = 0
        for r in firsts:
            asked, answered = _ts(r.asked), _ts(r.answered)
            if asked is None:
                continue
            if answered is None:
                unanswered += 1
            else:
                waits[r.queue].append((answered - asked).total_seconds())
        durations: dict[str, list[float]] = defaultdict(list)
        for r in resolved:
            if r.resolution_s is not None:
                durations[r.queue].append(float(r.resolution_s))
        by_queue: dict[str, list[Any]] = defaultdict(list)
        by_agent: dict[str, list[Any]] = defaultdict(list)
        for r in resolved:
            by_queue[r.queue].append(r)
            by_agent[r.resolved_by].append(r)
        confirmed = [r for r in resolved if r.solved is True]
        return OutcomeFigures(
            since=since,
            until=until,
            conversations=sum(1 for r in firsts if r.asked is not None),
            unanswered=unanswered,
            first_response=Duration.of(v for vs in waits.values() for v in vs),
            resolution=Duration.of(v for vs in durations.values() for v in vs),
            resolved=len(resolved),
            surveys_asked=sum(1 for r in resolved if r.survey_message_id is not None),
            surveys_answered=sum(1 for r in resolved if r.solved is not None or r.rating is not None),
            confirmed=len(confirmed),
            automated_confirmed=sum(1 for r in confirmed if not r.human_replied),
            total=Csat.of("", resolved),
            by_queue=tuple(Csat.of(k, v) for k, v in sorted(by_queue.items())),
            by_agent=tuple(Csat.of(k, v) for k, v in sorted(by_agent.items())),
            times_by_queue=tuple(
                QueueTimes(q, Duration.of(waits.get(q, ())), Duration.of(durations.get(q, ())))
                for q in sorted(set(waits) | set(durations))
            ),
            handoff_reasons={str(r.reason): int(r.n) for r in reasons},
        )

    def _first_responses(self, since: dt.datetime, until: dt.datetime) -> Any:
        """Per conversation started in the window: its first customer message and its first reply
        that went out (an AI or agent message with the provider's id)."""
        c, m = t.conversations.c, t.messages.c
        asked = func.min(
            case(
                (
                    and_(m.direction == Direction.INBOUND.value, m.author_kind == AuthorKind.CUSTOMER.value),
                    m.created_at,
                )
            )
        )
        answered = func.min(
            case(
                (
                    and_(
                        m.direction == Direction.OUTBOUND.value,
                        m.author_kind.in_(_REPLY_AUTHORS),
                        m.external_id.is_not(None),
                    ),
                    m.created_at,
                )
            )
        )
        queue = func.coalesce(c.queue, "general")
        # from the index on inbound messages by time, not a scan of every conversation
        started = (
            select(m.conversation_id)
            .where(m.direction == Direction.INBOUND.value, m.created_at >= since, m.created_at < until)
            .distinct()
        )
        return (
            select(c.id, queue.label("queue"), asked.label("asked"), answered.label("answered"))
            .select_from(t.conversations.join(t.messages, m.conversation_id == c.id))
            .where(c.id.in_(started), c.created_at >= since, c.created_at < until)
            .group_by(c.id, queue)
        )


def _ts(value: Any) -> dt.datetime | None:
    """SQLite may hand an aggregate's datetime back as text."""
    if value is None:
        return None
    stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(stamp, dt.datetime)
    return aware(stamp)
