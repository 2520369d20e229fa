"""Read queries of the agent inbox (SQLAlchemy Core): queues, the work list, a contact's history
across channels and the "knowledge gaps" list. Writes go through the stores; this module only reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select

from conversation.enums import ChannelKind, ConversationStatus, Direction, Priority
from conversation.models import Message, utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware, to_message

__all__ = ["DeskQueries", "QueueCount", "DeskRow", "KnowledgeGap", "WAITING_STATES"]

# The conversations a person is in charge of (or must decide on).
WAITING_STATES = (ConversationStatus.AWAITING_AGENT, ConversationStatus.HANDED_OFF)
_PREVIEW = 240


@dataclass(frozen=True, slots=True)
class QueueCount:
    queue: str
    waiting: int
    breached: int


@dataclass(frozen=True, slots=True)
class DeskRow:
    conversation_id: str
    contact_id: str
    contact_name: str | None
    channel: ChannelKind
    status: ConversationStatus
    queue: str
    priority: Priority
    assignee: str | None
    sla_due_at: datetime | None
    updated_at: datetime
    preview: str  # the newest customer message, shortened; customer content: render as text only


@dataclass(frozen=True, slots=True)
class KnowledgeGap:
    label: str  # the intent the knowledge was missing for
    count: int
    last_at: datetime
    examples: tuple[str, ...]  # redacted customer messages


def _priority_rank() -> Any:
    c = t.conversations.c
    return case(
        (c.priority == Priority.URGENT.value, 0),
        (c.priority == Priority.HIGH.value, 1),
        (c.priority == Priority.NORMAL.value, 2),
        else_=3,
    )


class DeskQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def queues(self, *, now: datetime | None = None) -> list[QueueCount]:
        """Each queue with waiting conversations: how many, and how many are past their SLA."""
        c = t.conversations.c
        now = now or utcnow()
        queue = func.coalesce(c.queue, "general")
        breached = func.sum(case((and_(c.sla_due_at.is_not(None), c.sla_due_at < now), 1), else_=0))
        query = (
            select(queue.label("queue"), func.count().label("waiting"), breached.label("breached"))
            .where(c.status.in_([s.value for s in WAITING_STATES]))
            .group_by(queue)
            .order_by(queue)
        )
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [QueueCount(r.queue, int(r.waiting), int(r.breached or 0)) for r in rows]

    async def waiting(self, *, queue: str | None = None, limit: int = 200) -> list[DeskRow]:
        """Conversations waiting for people: urgent > high > normal > low, then the earliest SLA."""
        conv, contacts, m = t.conversations, t.contacts, t.messages
        latest_seq = (
            select(func.max(m.c.seq))
            .where(m.c.conversation_id == conv.c.id, m.c.direction == Direction.INBOUND.value)
            .correlate(conv)
            .scalar_subquery()
        )
        preview = (
            select(func.substr(m.c.text, 1, _PREVIEW))
            .where(m.c.conversation_id == conv.c.id, m.c.seq == latest_seq)
            .correlate(conv)
            .scalar_subquery()
        )
        query = (
            select(conv, contacts.c.display_name.label("contact_name"), preview.label("preview"))
            .join(contacts, contacts.c.id == conv.c.contact_id)
            .where(conv.c.status.in_([s.value for s in WAITING_STATES]))
            .order_by(_priority_rank(), conv.c.sla_due_at.is_(None), conv.c.sla_due_at, conv.c.updated_at)
            .limit(limit)
        )
        if queue is not None:
            query = query.where(func.coalesce(conv.c.queue, "general") == queue)
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [
                DeskRow(
                    conversation_id=r.id,
                    contact_id=r.contact_id,
                    contact_name=r.contact_name,
                    channel=ChannelKind(r.channel),
                    status=ConversationStatus(r.status),
                    queue=r.queue or "general",
                    priority=Priority(r.priority),
                    assignee=r.assignee,
                    sla_due_at=aware(r.sla_due_at),
                    updated_at=aware(r.updated_at),
                    preview=r.preview or "",
                )
                for r in rows
            ]

    async def contact_history(self, contact_id: str, *, limit: int = 500) -> list[Message]:
        """Every message of the contact on every channel, oldest first (the newest ``limit``)."""
        m, conv = t.messages, t.conversations
        query = (
            select(m)
            .join(conv, conv.c.id == m.c.conversation_id)
            .where(conv.c.contact_id == contact_id)
            .order_by(m.c.created_at.desc(), m.c.seq.desc())
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
        return [to_message(r) for r in reversed(rows)]

    async def knowledge_gaps(self, *, limit: int = 100, examples: int = 3) -> list[KnowledgeGap]:
        """Knowledge-gap feedback grouped by intent, the most frequent first."""
        f = t.feedback
        label = func.coalesce(f.c.label, "unknown")
        query = (
            select(label.label("label"), func.count().label("n"), func.max(f.c.created_at).label("last_at"))
            .where(f.c.kind == "knowledge_gap")
            .group_by(label)
            .order_by(func.count().desc(), func.max(f.c.created_at).desc())
            .limit(limit)
        )
        async with self._db.read() as conn:
            groups = list(await conn.execute(query))
            gaps = []
            for g in groups:
                texts = await conn.execute(
                    select(f.c.text)
                    .where(f.c.kind == "knowledge_gap", label == g.label, f.c.text.is_not(None))
                    .order_by(f.c.created_at.desc())
                    .limit(examples)
                )
                gaps.append(
                    KnowledgeGap(
                        label=g.label,
                        count=int(g.n),
                        last_at=aware(g.last_at),
                        examples=tuple(str(r[0]) for r in texts),
                    )
                )
        return gaps

    async def feedback_counts(self) -> dict[str, int]:
        """Feedback rows by kind (the gaps page shows them as context)."""
        f = t.feedback
        async with self._db.read() as conn:
            rows = await conn.execute(select(f.c.kind, func.count()).group_by(f.c.kind))
            return {str(k): int(n) for k, n in rows}
