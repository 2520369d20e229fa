"""SQL adapter of the outbox: no message is ever sent twice.

Protocol for a sender:
1. ``claim(outbox_id)`` moves pending -> sending atomically; only one worker wins.
2. Call the provider.
3. ``mark_sent`` with the provider id (or ``mark_failed`` / ``release`` on a retryable error).

If a worker dies between 2 and 3 the entry stays ``sending``: it is never re-sent blindly. The
reconciler matches the provider's status callback (which carries the outbox id) or a provider lookup;
what stays unresolved becomes ``ambiguous`` for a human.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, insert, select, update

from conversation.enums import AuthorKind, ChannelKind, Direction, OutboxState
from conversation.errors import NotFound
from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware

__all__ = ["SqlOutboxStore", "OutboxRow", "StuckSend", "PendingSend"]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    message_id: str
    channel: ChannelKind
    state: OutboxState
    provider_id: str | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StuckSend:
    """An entry left ``sending``: the provider call may or may not have happened."""

    outbox_id: str
    message_id: str
    conversation_id: str
    causation_id: str | None  # the inbound message the reply answers, when there is one
    channel: ChannelKind
    since: datetime


@dataclass(frozen=True, slots=True)
class PendingSend:
    """An entry waiting to be (re)sent: never claimed, or released after a transient failure."""

    outbox_id: str
    message_id: str
    conversation_id: str
    causation_id: str | None
    attempts: int
    since: datetime  # the last state change (creation or the last release)


class SqlOutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, message_id: str, *, channel: ChannelKind) -> str:
        """One outbox entry per outbound message; calling again returns the same id."""
        async with self._db.begin() as conn:
            row = (await conn.execute(select(t.outbox.c.id).where(t.outbox.c.message_id == message_id))).first()
            if row is not None:
                return str(row[0])
            oid = new_id("ob")
            now = utcnow()
            await conn.execute(
                insert(t.outbox).values(
                    id=oid,
                    message_id=message_id,
                    channel=channel.value,
                    state=OutboxState.PENDING.value,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            return oid

    async def claim(self, outbox_id: str) -> bool:
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(and_(t.outbox.c.id == outbox_id, t.outbox.c.state == OutboxState.PENDING.value))
                .values(state=OutboxState.SENDING.value, attempts=t.outbox.c.attempts + 1, updated_at=utcnow())
            )
            return res.rowcount == 1

    async def mark_sent(self, outbox_id: str, *, provider_id: str) -> None:
        await self._set(outbox_id, OutboxState.SENT, provider_id=provider_id)

    async def mark_failed(self, outbox_id: str, *, reason: str) -> None:
        await self._set(outbox_id, OutboxState.FAILED, last_error=reason[:2000])

    async def mark_ambiguous(self, outbox_id: str, *, reason: str) -> None:
        await self._set(outbox_id, OutboxState.AMBIGUOUS, last_error=reason[:2000])

    async def release(self, outbox_id: str) -> None:
        """A retryable error before the provider accepted anything: back to pending."""
        async with self._db.begin() as conn:
            await conn.execute(
                update(t.outbox)
                .where(and_(t.outbox.c.id == outbox_id, t.outbox.c.state == OutboxState.SENDING.value))
                .values(state=OutboxState.PENDING.value, updated_at=utcnow())
            )

    async def get(self, outbox_id: str) -> OutboxRow:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.outbox).where(t.outbox.c.id == outbox_id))).first()
        if row is None:
            raise NotFound(f"outbox entry {outbox_id} does not exist")
        return _row(row)

    async def stuck_sending(self, *, since_before: datetime | None = None, limit: int = 100) -> list[StuckSend]:
        """Entries in ``sending`` whose last change is older than ``since_before`` (all when None)."""
        o, m = t.outbox, t.messages
        query = (
            select(o.c.id, o.c.message_id, o.c.channel, o.c.updated_at, m.c.conversation_id, m.c.causation_id)
            .join(m, m.c.id == o.c.message_id)
            .where(o.c.state == OutboxState.SENDING.value)
            .order_by(o.c.updated_at)
            .limit(limit)
        )
        if since_before is not None:
            query = query.where(o.c.updated_at < since_before)
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [
                StuckSend(
                    r.id, r.message_id, r.conversation_id, r.causation_id, ChannelKind(r.channel), aware(r.updated_at)
                )
                for r in rows
            ]

    async def pending(self, *, changed_before: datetime, limit: int = 100) -> list[PendingSend]:
        """Entries still ``pending`` whose last change is older than ``changed_before``, oldest first."""
        o, m = t.outbox, t.messages
        query = (
            select(o.c.id, o.c.message_id, o.c.attempts, o.c.updated_at, m.c.conversation_id, m.c.causation_id)
            .join(m, m.c.id == o.c.message_id)
            .where(o.c.state == OutboxState.PENDING.value, o.c.updated_at < changed_before)
            .order_by(o.c.updated_at)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [
                PendingSend(r.id, r.message_id, r.conversation_id, r.causation_id, int(r.attempts), aware(r.updated_at))
                for r in rows
            ]

    async def fail_pending(self, outbox_id: str, *, reason: str) -> bool:
        """``pending`` -> ``failed`` (retries exhausted), without counting an attempt. True for the one
        caller that changed it."""
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(and_(t.outbox.c.id == outbox_id, t.outbox.c.state == OutboxState.PENDING.value))
                .values(state=OutboxState.FAILED.value, last_error=reason[:2000], updated_at=utcnow())
            )
            return bool(res.rowcount == 1)

    async def give_up_sending(self, outbox_id: str, *, reason: str) -> bool:
        """``sending`` -> ``ambiguous`` (never resent; a person checks with the provider). Only one
        caller wins: True for the one that changed the state."""
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(and_(t.outbox.c.id == outbox_id, t.outbox.c.state == OutboxState.SENDING.value))
                .values(state=OutboxState.AMBIGUOUS.value, last_error=reason[:2000], updated_at=utcnow())
            )
            return res.rowcount == 1

    async def reply_written(self, causation_id: str, *, author_kind: AuthorKind) -> str | None:
        """The id of the outbound message of ``author_kind`` that already answers inbound message
        ``causation_id``, if a turn wrote one (indexed on ``messages.causation_id``)."""
        m = t.messages
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(m.c.id)
                    .where(
                        m.c.causation_id == causation_id,
                        m.c.direction == Direction.OUTBOUND.value,
                        m.c.author_kind == author_kind.value,
                    )
                    .order_by(m.c.seq.desc())
                    .limit(1)
                )
            ).first()
        return str(row[0]) if row is not None else None

    async def _set(self, outbox_id: str, state: OutboxState, **values: object) -> None:
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id == outbox_id)
                .values(state=state.value, updated_at=utcnow(), **values)
            )
            if res.rowcount == 0:
                raise NotFound(f"outbox entry {outbox_id} does not exist")


def _row(row: Row[Any]) -> OutboxRow:
    m = row._mapping
    return OutboxRow(
        id=m["id"],
        message_id=m["message_id"],
        channel=ChannelKind(m["channel"]),
        state=OutboxState(m["state"]),
        provider_id=m["provider_id"],
        attempts=m["attempts"],
        last_error=m["last_error"],
    )
