"""Outcome writes (SQLAlchemy Core): a resolution with its survey and the customer's answer, and the
reasons conversations went to a person. The rules (when to ask, what an answer does) live in
``services.outcomes``; this module stores what it is told, each change in one transaction.

Every query starts from an index: outcomes and handoffs by ``(conversation_id, …)``, messages by
conversation, timeline events by conversation or by ``(causation_id, type)``."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.enums import AuthorKind, Direction, EventType
from conversation.errors import NotFound
from conversation.handoff_reasons import HandoffReason, handoff_reason
from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware
from conversation.sql.schema_outcomes import handoffs, outcomes
from conversation.survey import SurveyAnswer

__all__ = [
    "OutcomeStore",
    "OutcomeRow",
    "HandoffRow",
    "SurveyState",
    "AnswerPart",
    "delete_outcomes",
    "SURVEY_OPEN_FOR",
]

SURVEY_OPEN_FOR = dt.timedelta(days=7)  # an answer later than this is a new message, not a survey answer
_CHUNK = 500


@enum.unique
class SurveyState(enum.StrEnum):
    NOT_SENT = "not_sent"  # the channel refused it (or it was never sent)
    ASKED = "asked"  # sent; waiting for the answer (or for the rest of it)
    ANSWERED = "answered"  # solved and rating both given
    SUPERSEDED = "superseded"  # unanswered: the customer wrote something else, or it was resolved again
    CLOSED = "closed"  # answered, and the customer has written something else since: later "yes" is no answer


@enum.unique
class AnswerPart(enum.StrEnum):
    SOLVED = "solved"
    RATING = "rating"


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    id: str
    conversation_id: str
    resolved_at: dt.datetime
    resolved_by: str
    queue: str
    channel: str
    language: str | None
    opened_at: dt.datetime | None
    resolution_s: float | None
    human_replied: bool
    survey_state: SurveyState
    survey_message_id: str | None
    solved: bool | None
    rating: int | None
    answered_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class HandoffRow:
    conversation_id: str
    reason: HandoffReason
    detail: str
    queue: str | None
    at: dt.datetime


class OutcomeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- resolutions ----------------------------------------------------------------------------
    async def open_resolution(self, conversation_id: str, *, resolved_by: str, now: dt.datetime | None = None) -> str:
        """A new outcome row for this resolution; an unanswered survey of an earlier one is superseded.
        The case is everything since the last resolution the customer confirmed (a "not solved" or
        unanswered one does not end it): its first customer message starts the resolution time, and
        any reply by a person in it (an agent's text, or an AI draft a person approved) makes it not
        automated."""
        now = now or utcnow()
        c, m, o = t.conversations.c, t.messages.c, outcomes.c
        async with self._db.begin() as conn:
            conv = (await conn.execute(select(c.queue, c.channel, c.language).where(c.id == conversation_id))).first()
            if conv is None:
                raise NotFound(f"conversation {conversation_id} does not exist")
            previous = aware(
                (
                    await conn.execute(
                        select(func.max(o.resolved_at)).where(o.conversation_id == conversation_id, o.solved.is_(True))
                    )
                ).scalar()
            )
            await conn.execute(
                update(outcomes)
                .where(o.conversation_id == conversation_id, o.survey_state == SurveyState.ASKED.value)
                .values(survey_state=SurveyState.SUPERSEDED.value)
            )
            query = select(m.direction, m.author_kind, m.meta, m.created_at).where(m.conversation_id == conversation_id)
            if previous is not None:
                query = query.where(m.created_at > previous)
            episode = list(await conn.execute(query.order_by(m.seq)))
            opened = next(
                (
                    aware(r.created_at)
                    for r in episode
                    if r.direction == Direction.INBOUND.value and r.author_kind == AuthorKind.CUSTOMER.value
                ),
                None,
            )
            human = any(
                r.direction == Direction.OUTBOUND.value
                and (r.author_kind == AuthorKind.AGENT.value or bool((r.meta or {}).get("approved_by")))
                for r in episode
            )
            outcome_id = new_id("out")
            await conn.execute(
                insert(outcomes).values(
                    id=outcome_id,
                    conversation_id=conversation_id,
                    resolved_at=now,
                    resolved_by=resolved_by[:64],
                    queue=conv.queue or "general",
                    channel=conv.channel,
                    language=conv.language,
                    opened_at=opened,
                    resolution_s=max(0.0, (now - opened).total_seconds()) if opened else None,
                    human_replied=human,
                    survey_state=SurveyState.NOT_SENT.value,
                )
            )
        return outcome_id

    async def mark_asked(self, outcome_id: str, *, survey_message_id: str) -> None:
        async with self._db.begin() as conn:
            await conn.execute(
                update(outcomes)
                .where(outcomes.c.id == outcome_id)
                .values(survey_state=SurveyState.ASKED.value, survey_message_id=survey_message_id)
            )

    async def get(self, outcome_id: str) -> OutcomeRow:
        async with self._db.read() as conn:
            row = (await conn.execute(select(outcomes).where(outcomes.c.id == outcome_id))).first()
        if row is None:
            raise NotFound(f"outcome {outcome_id} does not exist")
        return _outcome(row)

    async def of_conversation(self, conversation_id: str) -> list[OutcomeRow]:
        """Every resolution of the conversation, oldest first."""
        o = outcomes.c
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(outcomes).where(o.conversation_id == conversation_id).order_by(o.resolved_at, o.id)
            )
            return [_outcome(r) for r in rows]

    async def survey_for(self, conversation_id: str, *, received_at: dt.datetime) -> OutcomeRow | None:
        """The survey a customer message received at ``received_at`` may answer: the newest resolution
        asked before it and not older than ``SURVEY_OPEN_FOR``, still open or already answered (so a
        second answer is recognised as one and stores nothing new)."""
        o = outcomes.c
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(outcomes)
                    .where(
                        o.conversation_id == conversation_id,
                        o.resolved_at <= received_at,
                        o.resolved_at > received_at - SURVEY_OPEN_FOR,
                    )
                    .order_by(o.resolved_at.desc(), o.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        found = _outcome(row)
        return found if found.survey_state in (SurveyState.ASKED, SurveyState.ANSWERED) else None

    async def record_answer(
        self, outcome_id: str, answer: SurveyAnswer, *, message_id: str, now: dt.datetime | None = None
    ) -> tuple[frozenset[AnswerPart], OutcomeRow]:
        """Fill what the row does not have yet (the first "solved" and the first rating count); never a
        second row. Returns the parts this message stored, so a retried step (the same message again)
        gets the same parts back and redoes its idempotent follow-ups; a second answer gets none."""
        now = now or utcnow()
        o = outcomes.c
        async with self._db.begin() as conn:
            row = (await conn.execute(select(outcomes).where(o.id == outcome_id))).first()
            if row is None:
                raise NotFound(f"outcome {outcome_id} does not exist")
            parts: set[AnswerPart] = set()
            values: dict[str, Any] = {}
            if answer.solved is not None:
                if row.solved is None:
                    values |= {"solved": answer.solved, "solved_message_id": message_id}
                if row.solved is None or row.solved_message_id == message_id:
                    parts.add(AnswerPart.SOLVED)
            if answer.rating is not None:
                if row.rating is None:
                    values |= {"rating": answer.rating, "rating_message_id": message_id}
                if row.rating is None or row.rating_message_id == message_id:
                    parts.add(AnswerPart.RATING)
            if values:
                solved = values.get("solved", row.solved)
                rating = values.get("rating", row.rating)
                complete = solved is not None and rating is not None
                values |= {
                    "answered_at": now,
                    "survey_state": (SurveyState.ANSWERED if complete else SurveyState.ASKED).value,
                }
                await conn.execute(update(outcomes).where(o.id == outcome_id).values(**values))
                row = (await conn.execute(select(outcomes).where(o.id == outcome_id))).one()
        return frozenset(parts), _outcome(row)

    async def supersede(self, outcome_id: str) -> None:
        """The customer wrote something that is not a survey answer: the survey is over (unanswered,
        or answered and done with)."""
        o = outcomes.c
        async with self._db.begin() as conn:
            for before, after in (
                (SurveyState.ASKED, SurveyState.SUPERSEDED),
                (SurveyState.ANSWERED, SurveyState.CLOSED),
            ):
                await conn.execute(
                    update(outcomes)
                    .where(o.id == outcome_id, o.survey_state == before.value)
                    .values(survey_state=after.value)
                )

    # -- handoff reasons ------------------------------------------------------------------------
    async def record_handoff(
        self,
        conversation_id: str,
        reason: HandoffReason,
        *,
        key: str,
        detail: str = "",
        queue: str | None = None,
        at: dt.datetime | None = None,
    ) -> bool:
        """Record why the conversation went to a person; ``key`` (``msg:<causing message id>`` for a
        turn's handoff) makes it idempotent. True when this call stored it."""
        try:
            async with self._db.begin() as conn:
                await conn.execute(
                    insert(handoffs).values(
                        id=new_id("ho"),
                        key=key[:96],
                        conversation_id=conversation_id,
                        reason=reason.value,
                        detail=detail[:200],
                        queue=queue,
                        at=at or utcnow(),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def sync_handoffs(
        self, *, conversation_id: str | None = None, since: dt.datetime | None = None, limit: int = 5000
    ) -> int:
        """Record the reason of every HANDED_OFF timeline event that has none yet, mapped from the
        event's free-text reason and the policy rule of its decision. Either one conversation (its
        events by conversation) or the handoffs of customer messages received since ``since``
        (inbound messages by time, then their events by cause). Returns how many were recorded."""
        e, d, m = t.events, t.decisions, t.messages
        columns = (e.c.id, e.c.conversation_id, e.c.causation_id, e.c.data, e.c.occurred_at, d.c.rule_id)
        decision = d.c.inbound_message_id == e.c.causation_id
        if conversation_id is not None:
            query = (
                select(*columns)
                .select_from(e.outerjoin(d, decision))
                .where(e.c.conversation_id == conversation_id, e.c.type == EventType.HANDED_OFF.value)
            )
        elif since is not None:
            query = (
                select(*columns)
                .select_from(m.join(e, e.c.causation_id == m.c.id).outerjoin(d, decision))
                .where(
                    m.c.direction == Direction.INBOUND.value,
                    m.c.created_at >= since,
                    e.c.type == EventType.HANDED_OFF.value,
                )
            )
        else:
            raise ValueError("sync_handoffs needs conversation_id or since")
        async with self._db.read() as conn:
            found = list(await conn.execute(query.limit(limit)))
            keys = {_event_key(r): r for r in found}
            existing = {
                str(k)
                for batch in _chunks(list(keys))
                for k in (await conn.execute(select(handoffs.c.key).where(handoffs.c.key.in_(batch)))).scalars()
            }
        stored = 0
        for key, r in keys.items():
            if key in existing:
                continue
            data = r.data or {}
            text = str(data.get("reason") or "")
            if await self.record_handoff(
                r.conversation_id,
                handoff_reason(text, rule_id=r.rule_id),
                key=key,
                detail=text,
                queue=str(data["queue"]) if data.get("queue") else None,
                at=aware(r.occurred_at),
            ):
                stored += 1
        return stored

    async def handoffs_of(self, conversation_id: str) -> list[HandoffRow]:
        """Why the conversation went to a person, oldest first (the last one is the current reason)."""
        h = handoffs.c
        async with self._db.read() as conn:
            rows = await conn.execute(select(handoffs).where(h.conversation_id == conversation_id).order_by(h.at, h.id))
            return [_handoff(r) for r in rows]

    async def latest_handoff(self, conversation_id: str) -> HandoffRow | None:
        rows = await self.handoffs_of(conversation_id)
        return rows[-1] if rows else None


async def delete_outcomes(conn: AsyncConnection, conversation_ids: list[str]) -> dict[str, int]:
    """Erasure and retention: a conversation's outcomes and handoff reasons go with it."""
    counts = {"outcomes": 0, "handoffs": 0}
    for batch in _chunks(conversation_ids):
        counts["outcomes"] += (
            await conn.execute(delete(outcomes).where(outcomes.c.conversation_id.in_(batch)))
        ).rowcount
        counts["handoffs"] += (
            await conn.execute(delete(handoffs).where(handoffs.c.conversation_id.in_(batch)))
        ).rowcount
    return counts


def _event_key(row: Any) -> str:
    """A turn's handoff is keyed by its causing message (so the turn's own record and the timeline's
    are one); an event without a cause by the event."""
    return f"msg:{row.causation_id}" if row.causation_id else f"evt:{row.id}"


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _outcome(row: Any) -> OutcomeRow:
    return OutcomeRow(
        id=row.id,
        conversation_id=row.conversation_id,
        resolved_at=aware(row.resolved_at),
        resolved_by=row.resolved_by,
        queue=row.queue,
        channel=row.channel,
        language=row.language,
        opened_at=aware(row.opened_at),
        resolution_s=row.resolution_s,
        human_replied=bool(row.human_replied),
        survey_state=SurveyState(row.survey_state),
        survey_message_id=row.survey_message_id,
        solved=None if row.solved is None else bool(row.solved),
        rating=row.rating,
        answered_at=aware(row.answered_at),
    )


def _handoff(row: Any) -> HandoffRow:
    return HandoffRow(
        conversation_id=row.conversation_id,
        reason=HandoffReason(row.reason),
        detail=row.detail,
        queue=row.queue,
        at=aware(row.at),
    )
