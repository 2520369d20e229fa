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

from sqlalchemy import and_, insert, select, update

from conversation.enums import ChannelKind, OutboxState
from conversation.errors import NotFound
from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database

__all__ = ["SqlOutboxStore", "OutboxRow"]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    message_id: str
    channel: ChannelKind
    state: OutboxState
    provider_id: str | None
    attempts: int
    last_error: str | None


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

    async def stuck_sending(self) -> list[OutboxRow]:
        async with self._db.read() as conn:
            rows = await conn.execute(select(t.outbox).where(t.outbox.c.state == OutboxState.SENDING.value))
            return [_row(r) for r in rows]

    async def _set(self, outbox_id: str, state: OutboxState, **values: object) -> None:
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id == outbox_id)
                .values(state=state.value, updated_at=utcnow(), **values)
            )
            if res.rowcount == 0:
                raise NotFound(f"outbox entry {outbox_id} does not exist")


def _row(row: object) -> OutboxRow:
    m = row._mapping  # type: ignore[attr-defined]
    return OutboxRow(
        id=m["id"],
        message_id=m["message_id"],
        channel=ChannelKind(m["channel"]),
        state=OutboxState(m["state"]),
        provider_id=m["provider_id"],
        attempts=m["attempts"],
        last_error=m["last_error"],
    )
