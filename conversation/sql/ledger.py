"""The facts the message ledger is derived from, read from the system of record in one query.

Per customer message received in a window: its conversation's state and queue, the highest sequence
number of a reply that went out (outbox ``sent``) and of one that failed (``failed``/``ambiguous``),
and whether a FAILED event names the message. ``services.ledger`` turns these into states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from conversation.enums import AuthorKind, ConversationStatus, Direction, EventType, OutboxState
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware

__all__ = ["LedgerRow", "SqlLedger"]


@dataclass(frozen=True, slots=True)
class LedgerRow:
    message_id: str
    conversation_id: str
    seq: int
    received_at: datetime
    status: ConversationStatus
    queue: str | None
    last_sent_seq: int | None
    last_failed_seq: int | None
    failed_event: bool


class SqlLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def rows(self, *, since: datetime, limit: int = 20_000) -> list[LedgerRow]:
        m, c, o, e = t.messages, t.conversations, t.outbox, t.events
        out = m.alias("out")
        sent = (
            select(out.c.conversation_id, func.max(out.c.seq).label("seq"))
            .join(o, o.c.message_id == out.c.id)
            .where(out.c.direction == Direction.OUTBOUND.value, o.c.state == OutboxState.SENT.value)
            .group_by(out.c.conversation_id)
            .subquery("sent")
        )
        failed = (
            select(out.c.conversation_id, func.max(out.c.seq).label("seq"))
            .join(o, o.c.message_id == out.c.id)
            .where(
                out.c.direction == Direction.OUTBOUND.value,
                o.c.state.in_([OutboxState.FAILED.value, OutboxState.AMBIGUOUS.value]),
            )
            .group_by(out.c.conversation_id)
            .subquery("failed")
        )
        failed_events = (
            select(e.c.causation_id)
            .where(e.c.type == EventType.FAILED.value)
            .where(e.c.causation_id.is_not(None))
            .distinct()
            .subquery("fe")
        )
        query = (
            select(
                m.c.id,
                m.c.conversation_id,
                m.c.seq,
                m.c.created_at,
                c.c.status,
                c.c.queue,
                sent.c.seq.label("sent_seq"),
                failed.c.seq.label("failed_seq"),
                failed_events.c.causation_id.label("failed_event"),
            )
            .join(c, c.c.id == m.c.conversation_id)
            .outerjoin(sent, sent.c.conversation_id == m.c.conversation_id)
            .outerjoin(failed, failed.c.conversation_id == m.c.conversation_id)
            .outerjoin(failed_events, failed_events.c.causation_id == m.c.id)
            .where(
                and_(
                    m.c.direction == Direction.INBOUND.value,
                    m.c.author_kind == AuthorKind.CUSTOMER.value,
                    m.c.created_at >= since,
                )
            )
            .order_by(m.c.created_at)
            .limit(limit)
        )
        async with self._db.read() as conn:
            result = await conn.execute(query)
            return [
                LedgerRow(
                    r.id,
                    r.conversation_id,
                    int(r.seq),
                    aware(r.created_at),
                    ConversationStatus(r.status),
                    r.queue,
                    r.sent_seq,
                    r.failed_seq,
                    r.failed_event is not None,
                )
                for r in result
            ]
