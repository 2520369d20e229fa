"""Read queries of the agent inbox (SQLAlchemy Core): queues, the work list (views, search, sorting,
keyset pages), a contact's history across channels and the "knowledge gaps" list. Writes go through
the stores (``conversation.sql.desk_store`` for the desk's own); this module only reads.

Search: SQLite searches the FTS5 index ``search_fts`` (over ``search_docs``, one document per message,
kept by triggers, migration 0007_desk); PostgreSQL searches ``to_tsvector('simple', messages.text)``
(a GIN index). Both also match contact names and addresses, and ticket numbers (``GD-10042``)."""

from __future__ import annotations

import base64
import enum
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, column, false, func, literal, literal_column, or_, select, table

from conversation.enums import ChannelKind, ConversationStatus, Direction, Priority
from conversation.models import Message, utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware, to_message

__all__ = [
    "DeskQueries",
    "DeskState",
    "DeskSort",
    "DeskView",
    "DeskPage",
    "QueueCount",
    "DeskRow",
    "KnowledgeGap",
    "WAITING_STATES",
    "BadCursor",
    "ticket_label",
    "parse_ticket",
    "effective_state",
    "needs_person",
    "priority_rank",
    "PAGE_SIZE",
]

# The conversations a person is in charge of (or must decide on).
WAITING_STATES = (ConversationStatus.AWAITING_AGENT, ConversationStatus.HANDED_OFF)
_PREVIEW = 240
_FAR = datetime(9999, 12, 31, tzinfo=UTC)  # "no SLA" sorts last
_TICKET = re.compile(r"\s*(?:GD-?\s*)?(\d{5,12})\s*", re.IGNORECASE)
_TOKEN = re.compile(r"\w+", re.UNICODE)
PAGE_SIZE = 50


@enum.unique
class DeskState(enum.StrEnum):
    """Where a conversation is in the desk's lifecycle (``conversations.desk_state``)."""

    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    SNOOZED = "snoozed"  # until ``snoozed_until``; then open again by itself
    RESOLVED = "resolved"
    CLOSED = "closed"


@enum.unique
class DeskSort(enum.StrEnum):
    PRIORITY = "priority"  # urgent first, then the earliest SLA
    SLA = "sla"  # the earliest SLA first
    UPDATED = "updated"  # the latest change first


def ticket_label(number: int | None) -> str:
    """The number customers quote: ``GD-10042``."""
    return f"GD-{number}" if number else ""


def parse_ticket(text: str) -> int | None:
    """``GD-10042``, ``gd10042`` or ``10042`` -> 10042; anything else -> None."""
    m = _TICKET.fullmatch(text)
    return int(m.group(1)) if m else None


class BadCursor(ValueError):
    """A page cursor that is not one this server made (edited or from another sort)."""


@dataclass(frozen=True, slots=True)
class DeskView:
    """Which conversations a list shows. ``state=None``: every state. ``assignee``: a username,
    ``""`` for unassigned, None for anyone."""

    state: DeskState | None = DeskState.OPEN
    queue: str | None = None
    assignee: str | None = None
    search: str = ""
    sort: DeskSort = DeskSort.PRIORITY
    cursor: str | None = None
    limit: int = PAGE_SIZE


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
    desk_state: DeskState = DeskState.OPEN  # effective: a snooze that ended reads as open
    ticket_number: int | None = None
    snoozed_until: datetime | None = None
    sla_remaining_s: float | None = None  # set while pending or resolved stopped the SLA clock

    @property
    def ticket(self) -> str:
        return ticket_label(self.ticket_number)


@dataclass(frozen=True, slots=True)
class DeskPage:
    rows: list[DeskRow]
    next_cursor: str | None  # None: this was the last page


@dataclass(frozen=True, slots=True)
class KnowledgeGap:
    label: str  # the intent the knowledge was missing for
    count: int
    last_at: datetime
    examples: tuple[str, ...]  # redacted customer messages


def priority_rank() -> Any:
    c = t.conversations.c
    return case(
        (c.priority == Priority.URGENT.value, 0),
        (c.priority == Priority.HIGH.value, 1),
        (c.priority == Priority.NORMAL.value, 2),
        else_=3,
    )


def effective_state(now: datetime) -> Any:
    """``desk_state`` as a person sees it at ``now``: a snooze that has ended is open."""
    c = t.conversations.c
    return case(
        (and_(c.desk_state == DeskState.SNOOZED.value, c.snoozed_until <= now), DeskState.OPEN.value),
        else_=c.desk_state,
    )


def needs_person(now: datetime) -> ColumnElement[bool]:
    """Waiting for a person: in a person's hands and open in the desk (not pending, snoozed, resolved)."""
    c = t.conversations.c
    return and_(c.status.in_([s.value for s in WAITING_STATES]), effective_state(now) == DeskState.OPEN.value)


def _encode(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, kinds: tuple[type, ...]) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("length")
        out: list[Any] = []
        for kind, v in zip(kinds, values, strict=True):
            if kind is datetime:
                out.append(aware(datetime.fromisoformat(str(v))))
            elif kind is int:
                out.append(int(v))
            else:
                out.append(str(v))
        return out
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise BadCursor("this page link is not valid any more; start again from the first page") from exc


def _after(keys: list[tuple[Any, bool]], values: list[Any]) -> ColumnElement[bool]:
    """Keyset condition: rows strictly after ``values`` in the order of ``keys`` ((expr, descending))."""
    clauses = []
    for i, (expr, desc) in enumerate(keys):
        same = [keys[j][0] == values[j] for j in range(i)]
        clauses.append(and_(*same, expr < values[i] if desc else expr > values[i]))
    return or_(*clauses)


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class DeskQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def queues(self, *, now: datetime | None = None) -> list[QueueCount]:
        """Each queue with conversations waiting for people: how many, and how many are past their SLA."""
        c = t.conversations.c
        now = now or utcnow()
        queue = func.coalesce(c.queue, "general")
        breached = func.sum(case((and_(c.sla_due_at.is_not(None), c.sla_due_at < now), 1), else_=0))
        query = (
            select(queue.label("queue"), func.count().label("waiting"), breached.label("breached"))
            .where(needs_person(now))
            .group_by(queue)
            .order_by(queue)
        )
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [QueueCount(r.queue, int(r.waiting), int(r.breached or 0)) for r in rows]

    async def view_counts(self, username: str, *, now: datetime | None = None) -> dict[str, int]:
        """Waiting for people: all, the agent's own, unassigned."""
        c = t.conversations.c
        now = now or utcnow()
        query = select(
            func.count().label("all"),
            func.sum(case((c.assignee == username, 1), else_=0)).label("mine"),
            func.sum(case((c.assignee.is_(None), 1), else_=0)).label("unassigned"),
        ).where(needs_person(now))
        async with self._db.read() as conn:
            r = (await conn.execute(query)).one()
        return {"all": int(r.all or 0), "mine": int(r.mine or 0), "unassigned": int(r.unassigned or 0)}

    async def waiting(self, *, queue: str | None = None, limit: int = 200) -> list[DeskRow]:
        """Conversations waiting for people: urgent > high > normal > low, then the earliest SLA."""
        page = await self.page(DeskView(queue=queue, limit=limit))
        return page.rows

    def _search(self, text: str) -> ColumnElement[bool] | None:
        """Conversations matching ``text``: its messages (full text, every word as a prefix), its
        contact's name or addresses, or its ticket number."""
        conv, m = t.conversations, t.messages
        words = [w for w in _TOKEN.findall(text.lower()) if w][:12]
        terms = []
        number = parse_ticket(text)
        if number is not None:
            terms.append(conv.c.ticket_number == number)
        if words:
            if self._db.is_sqlite:
                fts = table("search_fts", column("rowid"), column("search_fts"))
                match = " ".join(f'"{w}"*' for w in words)  # \w only: nothing to escape
                docs = t.search_docs
                terms.append(
                    conv.c.id.in_(
                        select(docs.c.conversation_id)
                        .join(fts, fts.c.rowid == docs.c.id)
                        .where(fts.c.search_fts.op("MATCH")(match))
                    )
                )
            else:
                query = " & ".join(f"{w}:*" for w in words)
                terms.append(
                    conv.c.id.in_(
                        select(m.c.conversation_id).where(
                            # the same expression as the GIN index (a literal config, not a parameter)
                            func.to_tsvector(literal_column("'simple'"), m.c.text).op("@@")(
                                func.to_tsquery(literal_column("'simple'"), query)
                            )
                        )
                    )
                )
        phrase = text.strip()
        if len(phrase) >= 2:
            pattern = _like(phrase)
            ci = t.channel_identities
            terms.append(
                conv.c.contact_id.in_(
                    select(t.contacts.c.id).where(func.lower(t.contacts.c.display_name).like(pattern, escape="\\"))
                )
            )
            terms.append(
                conv.c.contact_id.in_(
                    select(ci.c.contact_id).where(func.lower(ci.c.address).like(pattern, escape="\\"))
                )
            )
        return or_(*terms) if terms else None

    async def page(self, view: DeskView, *, now: datetime | None = None) -> DeskPage:
        """One page of the work list for ``view``, in its sort order; ``next_cursor`` continues it."""
        conv, contacts, m = t.conversations, t.contacts, t.messages
        now = now or utcnow()
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
        rank = priority_rank()
        sla_key = func.coalesce(conv.c.sla_due_at, literal(_FAR, t.TS))
        keys: list[tuple[Any, bool]]
        kinds: tuple[type, ...]
        if view.sort is DeskSort.SLA:
            keys, kinds = [(sla_key, False), (rank, False), (conv.c.id, False)], (datetime, int, str)
        elif view.sort is DeskSort.UPDATED:
            keys, kinds = [(conv.c.updated_at, True), (conv.c.id, True)], (datetime, str)
        else:
            keys = [(rank, False), (sla_key, False), (conv.c.updated_at, False), (conv.c.id, False)]
            kinds = (int, datetime, datetime, str)
        state = effective_state(now)
        limit = max(1, min(view.limit, 500))
        query = (
            select(
                conv,
                contacts.c.display_name.label("contact_name"),
                preview.label("preview"),
                state.label("effective_state"),
                *(expr.label(f"k{i}") for i, (expr, _) in enumerate(keys)),
            )
            .join(contacts, contacts.c.id == conv.c.contact_id)
            .order_by(*(expr.desc() if desc else expr for expr, desc in keys))
            .limit(limit + 1)
        )
        if view.state is DeskState.OPEN:
            query = query.where(needs_person(now))
        elif view.state is not None:
            query = query.where(state == view.state.value)
        if view.queue is not None:
            query = query.where(func.coalesce(conv.c.queue, "general") == view.queue)
        if view.assignee == "":
            query = query.where(conv.c.assignee.is_(None))
        elif view.assignee is not None:
            query = query.where(conv.c.assignee == view.assignee)
        if view.search.strip():
            matched = self._search(view.search)
            query = query.where(matched if matched is not None else false())
        if view.cursor:
            query = query.where(_after(keys, _decode(view.cursor, kinds)))
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
        more = len(rows) > limit
        rows = rows[:limit]
        out = [
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
                desk_state=DeskState(r.effective_state),
                ticket_number=r.ticket_number,
                snoozed_until=aware(r.snoozed_until),
                sla_remaining_s=r.sla_remaining_s,
            )
            for r in rows
        ]
        cursor = None
        if more and rows:
            last = rows[-1]._mapping
            cursor = _encode([_plain(last[f"k{i}"]) for i in range(len(keys))])
        return DeskPage(rows=out, next_cursor=cursor)

    async def row(self, conversation_id: str, *, now: datetime | None = None) -> DeskRow | None:
        """One conversation as the list shows it (any state)."""
        conv = t.conversations
        now = now or utcnow()
        async with self._db.read() as conn:
            r = (
                await conn.execute(
                    select(conv, effective_state(now).label("effective_state")).where(conv.c.id == conversation_id)
                )
            ).first()
        if r is None:
            return None
        return DeskRow(
            conversation_id=r.id,
            contact_id=r.contact_id,
            contact_name=None,
            channel=ChannelKind(r.channel),
            status=ConversationStatus(r.status),
            queue=r.queue or "general",
            priority=Priority(r.priority),
            assignee=r.assignee,
            sla_due_at=aware(r.sla_due_at),
            updated_at=aware(r.updated_at),
            preview="",
            desk_state=DeskState(r.effective_state),
            ticket_number=r.ticket_number,
            snoozed_until=aware(r.snoozed_until),
            sla_remaining_s=r.sla_remaining_s,
        )

    async def known_queues(self) -> list[str]:
        """Every queue name in use (for "move to queue")."""
        c = t.conversations.c
        async with self._db.read() as conn:
            rows = await conn.execute(select(func.coalesce(c.queue, "general")).distinct())
            return sorted({str(r[0]) for r in rows} | {"general"})

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


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?", value):
        return aware(datetime.fromisoformat(value))  # SQLite hands COALESCE(datetime, ...) back as text
    return value
