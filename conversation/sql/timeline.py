"""SQL adapters: timeline events, decision records and quarantine (the audit log: ``audit.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, insert, select, update

from conversation.enums import AuthorKind, ConversationStatus, Direction, EventType
from conversation.ids import new_id
from conversation.models import DecisionRecord, TimelineEvent, utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware, to_event

__all__ = ["event_row", "SqlTimelineStore", "SqlQuarantine", "UnfinishedTurn", "TURN_DONE_EVENTS"]

# A turn is finished once one of these events names its inbound message as the cause.
TURN_DONE_EVENTS = (EventType.SENT, EventType.HANDED_OFF, EventType.AWAITING_AGENT)
_HUMAN_OR_CLOSED = (ConversationStatus.HANDED_OFF, ConversationStatus.AWAITING_AGENT, ConversationStatus.CLOSED)


@dataclass(frozen=True, slots=True)
class UnfinishedTurn:
    message_id: str
    conversation_id: str
    received_at: datetime


def event_row(event: TimelineEvent) -> dict[str, Any]:
    """The ``events`` row of ``event`` (shared with the message store, which records the RECEIVED
    event inside its ingest transaction)."""
    return {
        "id": event.id,
        "conversation_id": event.conversation_id,
        "type": event.type.value,
        "actor": event.actor.value,
        "causation_id": event.causation_id,
        "data": event.data,
        "occurred_at": event.occurred_at,
    }


class SqlTimelineStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_event(self, event: TimelineEvent) -> None:
        async with self._db.begin() as conn:
            await conn.execute(insert(t.events).values(**event_row(event)))

    async def list_events(self, conversation_id: str) -> list[TimelineEvent]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(t.events)
                .where(t.events.c.conversation_id == conversation_id)
                .order_by(t.events.c.occurred_at, t.events.c.id)
            )
            return [to_event(r) for r in rows]

    async def has_event(self, *, causation_id: str, types: Iterable[EventType]) -> bool:
        """Whether an event of one of ``types`` was caused by ``causation_id`` (indexed lookup)."""
        kinds = [k.value for k in types]
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t.events.c.id)
                    .where(t.events.c.causation_id == causation_id, t.events.c.type.in_(kinds))
                    .limit(1)
                )
            ).first()
        return row is not None

    async def unfinished_turns(
        self, *, received_before: datetime, received_after: datetime, limit: int = 100
    ) -> list[UnfinishedTurn]:
        """Customer messages received in the window that no turn has taken up: no decision record,
        no finishing event caused by them, and their conversation is still the automation's
        (not with a person, not closed). Oldest first."""
        m, c, d, e = t.messages, t.conversations, t.decisions, t.events
        decided = exists().where(d.c.inbound_message_id == m.c.id)
        finished = exists().where(and_(e.c.causation_id == m.c.id, e.c.type.in_([k.value for k in TURN_DONE_EVENTS])))
        query = (
            select(m.c.id, m.c.conversation_id, m.c.created_at)
            .join(c, c.c.id == m.c.conversation_id)
            .where(
                m.c.direction == Direction.INBOUND.value,
                m.c.author_kind == AuthorKind.CUSTOMER.value,
                m.c.created_at < received_before,
                m.c.created_at >= received_after,
                c.c.status.not_in([s.value for s in _HUMAN_OR_CLOSED]),
                ~decided,
                ~finished,
            )
            .order_by(m.c.created_at)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [UnfinishedTurn(r.id, r.conversation_id, aware(r.created_at)) for r in rows]

    async def save_decision(self, record: DecisionRecord) -> None:
        """Insert or replace the decision of one inbound turn (re-runs of a turn overwrite)."""
        values = {
            "id": record.id,
            "conversation_id": record.conversation_id,
            "inbound_message_id": record.inbound_message_id,
            "outbound_message_id": record.outbound_message_id,
            "route": record.route.value,
            "rule_id": record.rule_id,
            "policy_version": record.policy_version,
            "reason": record.reason,
            "record": record.model_dump(mode="json"),
            "approved_by": record.approved_by,
            "created_at": record.created_at,
        }
        async with self._db.begin() as conn:
            existing = (
                await conn.execute(
                    select(t.decisions.c.id).where(t.decisions.c.inbound_message_id == record.inbound_message_id)
                )
            ).first()
            if existing is None:
                await conn.execute(insert(t.decisions).values(**values))
            else:
                values["id"] = existing[0]
                values["record"] = record.model_copy(update={"id": existing[0]}).model_dump(mode="json")
                await conn.execute(update(t.decisions).where(t.decisions.c.id == existing[0]).values(**values))

    async def decision_for(self, inbound_message_id: str) -> DecisionRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t.decisions.c.record).where(t.decisions.c.inbound_message_id == inbound_message_id)
                )
            ).first()
        return DecisionRecord.model_validate(row[0]) if row is not None else None

    async def decisions_of(self, conversation_id: str) -> list[DecisionRecord]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(t.decisions.c.record)
                .where(t.decisions.c.conversation_id == conversation_id)
                .order_by(t.decisions.c.created_at)
            )
            return [DecisionRecord.model_validate(r[0]) for r in rows]


class SqlQuarantine:
    """Inbound we accepted but could not use. The raw bytes stay in the blob store; a human looks."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, *, channel: str, reason: str, detail: str, blob_key: str) -> str:
        qid = new_id("q")
        async with self._db.begin() as conn:
            await conn.execute(
                insert(t.quarantine).values(
                    id=qid,
                    channel=channel,
                    reason=reason[:255],
                    detail=detail[:4000],
                    blob_key=blob_key,
                    resolved=False,
                    created_at=utcnow(),
                )
            )
        return qid

    async def open_items(self) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(t.quarantine).where(t.quarantine.c.resolved.is_(False)).order_by(t.quarantine.c.created_at)
            )
            return [dict(r._mapping) for r in rows]
