"""The agent desk's own writes (SQLAlchemy Core): lifecycle state with the SLA clock, assignment and
queue, and canned replies. The rules (who may do what, in which state) live in
``services.agent_desk``; this module only writes what it is told, each change in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from conversation.enums import ConversationStatus
from conversation.errors import NotFound
from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.desk import DeskState, effective_state
from conversation.sql.rows import aware
from conversation.sql.sla_store import log_desk_state, recompute_clock

__all__ = ["DeskStore", "StateChange", "CannedReply", "PAUSES_SLA"]

# Waiting on the customer or solved: nobody owes an answer, so the SLA clock stops.
PAUSES_SLA = frozenset({DeskState.PENDING, DeskState.RESOLVED})


@dataclass(frozen=True, slots=True)
class StateChange:
    before: DeskState
    after: DeskState
    sla_due_at: datetime | None
    sla_remaining_s: float | None


@dataclass(frozen=True, slots=True)
class CannedReply:
    id: str
    title: str
    language: str
    text: str
    updated_by: str
    updated_at: datetime


class DeskStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_state(
        self,
        conversation_id: str,
        state: DeskState,
        *,
        snoozed_until: datetime | None = None,
        now: datetime | None = None,
    ) -> StateChange:
        """Move the conversation to ``state``. Pending and resolved stop the SLA clock (the time left
        is kept); any other state starts it again with that time. Closed ends the conversation: the
        next customer message starts a new one. The change is logged; a conversation with an SLA
        clock (``sla_store``) gets its dues recomputed in business time."""
        now = now or utcnow()
        c = t.conversations.c
        async with self._db.begin() as conn:
            row = (
                await conn.execute(
                    select(c.sla_due_at, c.sla_remaining_s, effective_state(now).label("state")).where(
                        c.id == conversation_id
                    )
                )
            ).first()
            if row is None:
                raise NotFound(f"conversation {conversation_id} does not exist")
            due, remaining = aware(row.sla_due_at), row.sla_remaining_s
            if state in PAUSES_SLA:
                if due is not None:
                    remaining, due = max(0.0, (due - now).total_seconds()), None
            elif state is DeskState.CLOSED:
                due, remaining = None, None
            elif remaining is not None:
                due, remaining = now + timedelta(seconds=remaining), None
            values: dict[str, Any] = {
                "desk_state": state.value,
                "snoozed_until": snoozed_until if state is DeskState.SNOOZED else None,
                "sla_due_at": due,
                "sla_remaining_s": remaining,
                "state_changed_at": now,
                "updated_at": now,
            }
            if state is DeskState.CLOSED:
                values["status"] = ConversationStatus.CLOSED.value
            await conn.execute(update(t.conversations).where(c.id == conversation_id).values(**values))
            await log_desk_state(conn, conversation_id, state=state.value, at=now)
            timers = await recompute_clock(conn, conversation_id, now=now)  # business time, when a clock runs
            if timers is not None and state is not DeskState.CLOSED:
                due, remaining = timers.earliest_due, timers.paused_remaining_s
        return StateChange(before=DeskState(row.state), after=state, sla_due_at=due, sla_remaining_s=remaining)

    async def assign(
        self,
        conversation_id: str,
        *,
        assignee: str | None,
        queue: str | None = None,
        status: ConversationStatus | None = None,
    ) -> None:
        """Set the assignee (None: unassigned) and, when given, the queue and who is in charge."""
        values: dict[str, Any] = {"assignee": assignee or None, "updated_at": utcnow()}
        if queue is not None:
            values["queue"] = queue
        if status is not None:
            values["status"] = status.value
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(t.conversations).where(t.conversations.c.id == conversation_id).values(**values)
            )
            if res.rowcount == 0:
                raise NotFound(f"conversation {conversation_id} does not exist")

    async def ticket_number(self, conversation_id: str) -> int | None:
        async with self._db.read() as conn:
            value = (
                await conn.execute(
                    select(t.conversations.c.ticket_number).where(t.conversations.c.id == conversation_id)
                )
            ).scalar()
        return int(value) if value is not None else None

    # -- canned replies ---------------------------------------------------------------------------
    async def canned_replies(self, *, language: str | None = None) -> list[CannedReply]:
        cr = t.canned_replies
        query = select(cr).order_by(cr.c.title, cr.c.language)
        if language is not None:
            query = query.where(cr.c.language == language)
        async with self._db.read() as conn:
            return [_canned(r) for r in await conn.execute(query)]

    async def canned_reply(self, reply_id: str) -> CannedReply:
        cr = t.canned_replies
        async with self._db.read() as conn:
            row = (await conn.execute(select(cr).where(cr.c.id == reply_id))).first()
        if row is None:
            raise NotFound(f"canned reply {reply_id} does not exist")
        return _canned(row)

    async def save_canned_reply(
        self, *, title: str, language: str, text: str, updated_by: str, reply_id: str | None = None
    ) -> str:
        """Create (no ``reply_id``) or change a canned reply; returns its id. A (title, language) pair
        that exists already raises ``sqlalchemy.exc.IntegrityError``."""
        cr = t.canned_replies
        values = {"title": title, "language": language, "text": text, "updated_by": updated_by, "updated_at": utcnow()}
        async with self._db.begin() as conn:
            if reply_id is None:
                reply_id = new_id("cr")
                await conn.execute(insert(cr).values(id=reply_id, **values))
            else:
                res = await conn.execute(update(cr).where(cr.c.id == reply_id).values(**values))
                if res.rowcount == 0:
                    raise NotFound(f"canned reply {reply_id} does not exist")
        return reply_id

    async def delete_canned_reply(self, reply_id: str) -> None:
        async with self._db.begin() as conn:
            res = await conn.execute(delete(t.canned_replies).where(t.canned_replies.c.id == reply_id))
            if res.rowcount == 0:
                raise NotFound(f"canned reply {reply_id} does not exist")


def _canned(row: Any) -> CannedReply:
    return CannedReply(
        id=row.id,
        title=row.title,
        language=row.language,
        text=row.text,
        updated_by=row.updated_by,
        updated_at=aware(row.updated_at),
    )
