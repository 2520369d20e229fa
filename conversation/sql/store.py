"""SQL adapter of the message store: idempotent ingest and gap-free sequence numbers."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.addresses import address_key
from conversation.delivery import advance_delivery
from conversation.enums import (
    AuthorKind,
    ChannelKind,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Priority,
)
from conversation.errors import NotFound
from conversation.ids import new_reply_token, new_token
from conversation.models import (
    Attachment,
    ChannelIdentity,
    Contact,
    Conversation,
    InboundMessage,
    IngestResult,
    Message,
    TimelineEvent,
    utcnow,
)
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.identities import IdentityQueries, to_identity
from conversation.sql.rows import aware, to_conversation, to_message
from conversation.sql.timeline import event_row

__all__ = ["SqlMessageStore"]

_INGEST_ATTEMPTS = 8
_BATCH_MAX = 64  # inbound messages per group-committed SQLite transaction


@dataclass(slots=True)
class _Pending:
    inbound: InboundMessage
    event: Callable[[Message, Conversation], TimelineEvent] | None
    future: asyncio.Future[IngestResult]


@dataclass(slots=True)
class _IngestQueue:
    """Ingests waiting for the next SQLite batch, and the task writing batches (None when idle)."""

    pending: list[_Pending] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


def _settle(future: asyncio.Future[IngestResult], outcome: IngestResult | BaseException) -> None:
    """Hand a batched ingest's result, or the error that stopped it, to the waiting caller."""
    if future.done():  # the caller went away (cancelled); the row is stored all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class SqlMessageStore(IdentityQueries):
    def __init__(self, db: Database) -> None:
        self._db = db
        self._ingest_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _IngestQueue] = (
            weakref.WeakKeyDictionary()
        )

    # -- inbound -------------------------------------------------------------------------------
    async def ingest(
        self, inbound: InboundMessage, *, event: Callable[[Message, Conversation], TimelineEvent] | None = None
    ) -> IngestResult:
        """Store an inbound message once. A second delivery of the same (channel, external_id)
        returns the stored message with ``created=False`` and writes nothing.

        ``event`` builds a timeline event from the new message and its conversation; it is inserted
        in the same transaction (so it exists exactly once per stored message, never for a duplicate).

        On SQLite (one writer) concurrent ingests are group-committed: whoever arrives while a batch
        is being written joins the next one, and one transaction writes the whole batch with a fixed
        number of statements. Every caller still returns only after its own row is committed."""
        if self._db.is_sqlite and inbound.conversation_id is None:
            return await self._batched(inbound, event)
        return await self._ingest_one(inbound, event)

    async def _ingest_one(
        self, inbound: InboundMessage, event: Callable[[Message, Conversation], TimelineEvent] | None
    ) -> IngestResult:
        """One message, one write transaction, no pre-read: the unique constraint on (channel,
        external_id) answers duplicates. A conflicting insert rolls the whole transaction back
        (sequence number included, so sequences stay gap-free) and the stored row is returned."""
        last_error: Exception | None = None
        for _ in range(_INGEST_ATTEMPTS):
            try:
                async with self._db.begin() as conn:
                    return await self._ingest_in(conn, inbound, event)
            except IntegrityError as exc:  # a duplicate, or a concurrent first delivery won the race
                last_error = exc
            existing = await self._existing(inbound.channel, inbound.external_id)
            if existing is not None:
                return existing
            # else: another constraint (a concurrent ingest created the same identity): try again
        raise RuntimeError(f"ingest of {inbound.channel}:{inbound.external_id} kept conflicting") from last_error

    async def _batched(
        self, inbound: InboundMessage, event: Callable[[Message, Conversation], TimelineEvent] | None
    ) -> IngestResult:
        loop = asyncio.get_running_loop()
        queue = self._ingest_queues.get(loop)
        if queue is None:
            queue = self._ingest_queues[loop] = _IngestQueue()
        future: asyncio.Future[IngestResult] = loop.create_future()
        queue.pending.append(_Pending(inbound, event, future))
        if queue.task is None:
            queue.task = loop.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _IngestQueue) -> None:
        try:
            while queue.pending:
                batch, queue.pending = queue.pending[:_BATCH_MAX], queue.pending[_BATCH_MAX:]
                try:  # alone: the single path is fewer statements (no reads before the writes)
                    results = (
                        [await self._ingest_one(batch[0].inbound, batch[0].event)]
                        if len(batch) == 1
                        else await self._ingest_batch(batch)
                    )
                except IntegrityError:  # not expected under the write lock: settle each on its own
                    for item in batch:
                        try:
                            _settle(item.future, await self._ingest_one(item.inbound, item.event))
                        except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
                            _settle(item.future, exc)
                    continue
                except Exception as exc:  # noqa: BLE001 - every caller of the batch sees the failure
                    for item in batch:
                        _settle(item.future, exc)
                    continue
                for item, result in zip(batch, results, strict=True):
                    _settle(item.future, result)
        finally:
            queue.task = None

    async def _ingest_batch(self, batch: list[_Pending]) -> list[IngestResult]:
        """Write a batch in one SQLite write transaction: 5 statements for known senders (stored
        duplicates, identities, open conversations, one executemany each for sequence numbers,
        messages and events), 3 more when the batch brings new contacts or conversations.
        Reading last_seq and writing it back is safe only because BEGIN IMMEDIATE excludes every
        other writer (SQLite only; PostgreSQL takes :meth:`_ingest_one`)."""
        m, ci, cv = t.messages, t.channel_identities, t.conversations
        now = utcnow()
        async with self._db.begin() as conn:
            by_channel: dict[str, list[str]] = {}
            for item in batch:
                by_channel.setdefault(item.inbound.channel.value, []).append(item.inbound.external_id)
            stored = {
                (r.channel, r.external_id): to_message(r)
                for r in await conn.execute(
                    select(m).where(
                        or_(*(and_(m.c.channel == ch, m.c.external_id.in_(ids)) for ch, ids in by_channel.items()))
                    )
                )
            }
            addresses: dict[str, set[str]] = {}
            for item in batch:
                addresses.setdefault(item.inbound.address.kind, set()).add(address_key(item.inbound.address))
            contact_of = {
                (r.kind, r.address): r.contact_id
                for r in await conn.execute(
                    select(ci.c.kind, ci.c.address, ci.c.contact_id).where(
                        or_(
                            *(
                                and_(ci.c.kind == kind, ci.c.address.in_(sorted(keys)))
                                for kind, keys in addresses.items()
                            )
                        )
                    )
                )
            }
            open_conv: dict[tuple[str, str], Conversation] = {}
            if contact_of:
                rows = await conn.execute(
                    select(cv)
                    .where(
                        cv.c.contact_id.in_(sorted(set(contact_of.values()))),
                        cv.c.status != ConversationStatus.CLOSED.value,
                    )
                    .order_by(cv.c.updated_at)
                )
                for r in rows:  # oldest first: the newest open one per (contact, channel) wins
                    open_conv[(r.contact_id, r.channel)] = to_conversation(r)
            new_contacts: list[dict[str, Any]] = []
            new_identities: list[dict[str, Any]] = []
            new_convs: list[dict[str, Any]] = []
            touched: dict[str, Conversation] = {}
            messages: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            results: list[IngestResult] = []
            first: dict[tuple[str, str], IngestResult] = {}
            for item in batch:
                inbound = item.inbound
                key = (inbound.channel.value, inbound.external_id)
                if key in stored:
                    msg = stored[key]
                    results.append(
                        IngestResult(
                            message=msg,
                            conversation=await self._get_conversation(conn, msg.conversation_id),
                            created=False,
                        )
                    )
                    continue
                if key in first:  # the same delivery twice in this batch
                    results.append(first[key].model_copy(update={"created": False}))
                    continue
                ident = (inbound.address.kind, address_key(inbound.address))
                contact_id = contact_of.get(ident)
                if contact_id is None:
                    contact = Contact(display_name=inbound.display_name)
                    new_contacts.append(contact.model_dump())
                    identity = ChannelIdentity(contact_id=contact.id, address=inbound.address)
                    new_identities.append(
                        {
                            "id": identity.id,
                            "contact_id": contact.id,
                            "kind": ident[0],
                            "address": ident[1],
                            "verified": False,
                            "created_at": identity.created_at,
                        }
                    )
                    contact_of[ident] = contact_id = contact.id
                conv = open_conv.get((contact_id, inbound.channel.value))
                if conv is None:
                    conv = Conversation(
                        contact_id=contact_id,
                        channel=inbound.channel,
                        status_token=new_token(),
                        reply_token=new_reply_token(),
                    )
                    new_convs.append(_conversation_row(conv))
                conv = conv.model_copy(update={"last_seq": conv.last_seq + 1, "updated_at": now})
                open_conv[(contact_id, inbound.channel.value)] = touched[conv.id] = conv
                msg = Message(
                    conversation_id=conv.id,
                    seq=conv.last_seq,
                    direction=Direction.INBOUND,
                    author_kind=AuthorKind.CUSTOMER,
                    channel=inbound.channel,
                    external_id=inbound.external_id,
                    text=inbound.text,
                    attachments=inbound.attachments,
                    delivery_status=DeliveryStatus.RECEIVED,
                    created_at=inbound.received_at,
                    meta=inbound.meta,
                )
                messages.append(_message_row(msg))
                if item.event is not None:
                    events.append(event_row(item.event(msg, conv)))
                first[key] = IngestResult(message=msg, conversation=conv, created=True)
                results.append(first[key])
            if new_contacts:
                await conn.execute(insert(t.contacts), new_contacts)
                await conn.execute(insert(ci), new_identities)
            if new_convs:
                await conn.execute(insert(cv), new_convs)
            if touched:
                await conn.execute(
                    update(cv)
                    .where(cv.c.id == bindparam("b_id"))
                    .values(last_seq=bindparam("b_seq"), updated_at=bindparam("b_at")),
                    [{"b_id": c.id, "b_seq": c.last_seq, "b_at": now} for c in touched.values()],
                )
            if messages:
                await conn.execute(insert(m), messages)
            if events:
                await conn.execute(insert(t.events), events)
        return results

    async def _ingest_in(
        self,
        conn: AsyncConnection,
        inbound: InboundMessage,
        event: Callable[[Message, Conversation], TimelineEvent] | None,
    ) -> IngestResult:
        """The write path: 4 statements for a known sender (identity + open conversation in one read,
        sequence bump returning the conversation, message insert, event insert)."""
        contact_id, conv_id = await self._identity_and_conversation(conn, inbound)
        if contact_id is None:
            contact_id = await self._new_identity(conn, inbound)
        if conv_id is None:
            conv_id = await self._new_conversation(conn, inbound, contact_id)
        conv = await self._bump_seq(conn, conv_id)
        msg = Message(
            conversation_id=conv.id,
            seq=conv.last_seq,
            direction=Direction.INBOUND,
            author_kind=AuthorKind.CUSTOMER,
            channel=inbound.channel,
            external_id=inbound.external_id,
            text=inbound.text,
            attachments=inbound.attachments,
            delivery_status=DeliveryStatus.RECEIVED,
            created_at=inbound.received_at,
            meta=inbound.meta,
        )
        await conn.execute(insert(t.messages).values(**_message_row(msg)))
        if event is not None:
            await conn.execute(insert(t.events).values(**event_row(event(msg, conv))))
        return IngestResult(message=msg, conversation=conv, created=True)

    async def _existing(self, channel: ChannelKind, external_id: str) -> IngestResult | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t.messages).where(
                        and_(t.messages.c.channel == channel.value, t.messages.c.external_id == external_id)
                    )
                )
            ).first()
            if row is None:
                return None
            msg = to_message(row)
            conv = await self._get_conversation(conn, msg.conversation_id)
        return IngestResult(message=msg, conversation=conv, created=False)

    async def _identity_and_conversation(
        self, conn: AsyncConnection, inbound: InboundMessage
    ) -> tuple[str | None, str | None]:
        """The sender's contact and the conversation this message joins, in one read: the hinted
        conversation (chat) when it is the contact's, else the contact's newest open one on the channel."""
        ci, cv = t.channel_identities, t.conversations
        on = and_(
            cv.c.contact_id == ci.c.contact_id,
            cv.c.channel == inbound.channel.value,
            cv.c.status != ConversationStatus.CLOSED.value,
        )
        order = [cv.c.updated_at.desc()]
        if inbound.conversation_id is not None:
            # the hinted conversation first, even when closed (as before)
            on = and_(cv.c.contact_id == ci.c.contact_id, (cv.c.id == inbound.conversation_id) | on)
            order.insert(0, (cv.c.id == inbound.conversation_id).desc())
        mine = and_(ci.c.kind == inbound.address.kind, ci.c.address == address_key(inbound.address))
        if not self._db.is_sqlite:
            # PostgreSQL: lock the identity first (a concurrent merge_contacts or ingest by the same
            # sender waits), then read: this statement's snapshot sees what the other one committed.
            # SQLite needs neither: BEGIN IMMEDIATE already excludes every other writer.
            await conn.execute(select(ci.c.contact_id).where(mine).with_for_update())
        row = (
            await conn.execute(
                select(ci.c.contact_id, cv.c.id).select_from(ci.outerjoin(cv, on)).where(mine).order_by(*order).limit(1)
            )
        ).first()
        if row is None:
            return None, None
        return row[0], row[1]

    async def _new_identity(self, conn: AsyncConnection, inbound: InboundMessage) -> str:
        contact = Contact(display_name=inbound.display_name)
        await conn.execute(insert(t.contacts).values(**contact.model_dump()))
        ident = ChannelIdentity(contact_id=contact.id, address=inbound.address)
        await conn.execute(
            insert(t.channel_identities).values(
                id=ident.id,
                contact_id=contact.id,
                kind=inbound.address.kind,
                address=address_key(inbound.address),
                verified=False,
                created_at=ident.created_at,
            )
        )
        return contact.id

    async def _new_conversation(self, conn: AsyncConnection, inbound: InboundMessage, contact_id: str) -> str:
        conv = Conversation(
            contact_id=contact_id, channel=inbound.channel, status_token=new_token(), reply_token=new_reply_token()
        )
        await conn.execute(insert(t.conversations).values(**_conversation_row(conv)))
        return conv.id

    async def _bump_seq(self, conn: AsyncConnection, conversation_id: str) -> Conversation:
        """Atomic increment under the row lock (PostgreSQL) / the write lock (SQLite); returns the
        conversation as it is after the increment."""
        row = (
            await conn.execute(
                update(t.conversations)
                .where(t.conversations.c.id == conversation_id)
                .values(last_seq=t.conversations.c.last_seq + 1, updated_at=utcnow())
                .returning(*t.conversations.c)
            )
        ).first()
        if row is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return to_conversation(row)

    async def _next_seq(self, conn: AsyncConnection, conversation_id: str) -> int:
        """Atomic increment under the row lock (PostgreSQL) / the write lock (SQLite)."""
        result = await conn.execute(
            update(t.conversations)
            .where(t.conversations.c.id == conversation_id)
            .values(last_seq=t.conversations.c.last_seq + 1, updated_at=utcnow())
            .returning(t.conversations.c.last_seq)
        )
        row = result.first()
        if row is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return int(row[0])

    # -- outbound and notes ----------------------------------------------------------------------
    async def append_message(
        self,
        conversation_id: str,
        text: str,
        *,
        direction: Direction,
        author_kind: AuthorKind,
        channel: ChannelKind,
        author_id: str | None = None,
        external_id: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        meta: dict[str, Any] | None = None,
    ) -> Message:
        async with self._db.begin() as conn:
            seq = await self._next_seq(conn, conversation_id)
            msg = Message(
                conversation_id=conversation_id,
                seq=seq,
                direction=direction,
                author_kind=author_kind,
                author_id=author_id,
                channel=channel,
                external_id=external_id,
                text=text,
                attachments=attachments,
                meta=meta or {},
            )
            await conn.execute(insert(t.messages).values(**_message_row(msg)))
        return msg

    async def get_message(self, message_id: str) -> Message:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.messages).where(t.messages.c.id == message_id))).first()
        if row is None:
            raise NotFound(f"message {message_id} does not exist")
        return to_message(row)

    async def list_messages(self, conversation_id: str) -> list[Message]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(t.messages).where(t.messages.c.conversation_id == conversation_id).order_by(t.messages.c.seq)
            )
            return [to_message(r) for r in rows]

    async def get_conversation(self, conversation_id: str) -> Conversation:
        async with self._db.read() as conn:
            return await self._get_conversation(conn, conversation_id)

    async def _get_conversation(self, conn: AsyncConnection, conversation_id: str) -> Conversation:
        row = (await conn.execute(select(t.conversations).where(t.conversations.c.id == conversation_id))).first()
        if row is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return to_conversation(row)

    async def find_conversation(
        self, *, status_token: str | None = None, reply_token: str | None = None
    ) -> Conversation | None:
        if (status_token is None) == (reply_token is None):
            raise ValueError("give exactly one of status_token or reply_token")
        col = t.conversations.c.status_token if status_token is not None else t.conversations.c.reply_token
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.conversations).where(col == (status_token or reply_token)))).first()
        return to_conversation(row) if row is not None else None

    async def find_message_by_external_id(self, channel: ChannelKind, external_id: str) -> Message | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t.messages).where(
                        and_(t.messages.c.channel == channel.value, t.messages.c.external_id == external_id)
                    )
                )
            ).first()
        return to_message(row) if row is not None else None

    async def find_email_by_message_id(self, message_id: str) -> Message | None:
        """The email with this Message-ID: ours (the id itself) or a customer's (stored as
        ``<Message-ID>#<content digest>``); the oldest when several reused it."""
        m = t.messages
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(m)
                    .where(
                        and_(
                            m.c.channel == ChannelKind.EMAIL.value,
                            or_(
                                m.c.external_id == message_id,
                                m.c.external_id.startswith(message_id + "#", autoescape=True),
                            ),
                        )
                    )
                    .order_by(m.c.created_at)
                    .limit(1)
                )
            ).first()
        return to_message(row) if row is not None else None

    async def revise_unsent(self, message_id: str, text: str) -> bool:
        """Replace the text of an outbound message whose send never began (no outbox entry in
        sending, sent or ambiguous). An agent who edits again after a failed send sends the new text."""
        ob, m = t.outbox, t.messages
        started = select(ob.c.id).where(
            and_(ob.c.message_id == message_id, ob.c.state.in_(["sending", "sent", "ambiguous"]))
        )
        async with self._db.begin() as conn:
            result = await conn.execute(
                update(m)
                .where(and_(m.c.id == message_id, m.c.direction == Direction.OUTBOUND.value, ~exists(started)))
                .values(text=text)
            )
        return result.rowcount == 1

    async def set_external_id(self, message_id: str, external_id: str) -> None:
        async with self._db.begin() as conn:
            await conn.execute(update(t.messages).where(t.messages.c.id == message_id).values(external_id=external_id))

    async def route_conversation(
        self,
        conversation_id: str,
        status: ConversationStatus,
        *,
        queue: str | None = None,
        priority: Priority | None = None,
        assignee: str | None = None,
        sla_due_at: datetime | None = None,
        language: str | None = None,
    ) -> Conversation:
        values: dict[str, Any] = {"status": status.value, "updated_at": utcnow()}
        if queue is not None:
            values["queue"] = queue
        if priority is not None:
            values["priority"] = priority.value
        if assignee is not None:
            values["assignee"] = assignee or None
        if sla_due_at is not None:
            values["sla_due_at"] = sla_due_at
        if language is not None:
            values["language"] = language
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(t.conversations).where(t.conversations.c.id == conversation_id).values(**values)
            )
            if res.rowcount == 0:
                raise NotFound(f"conversation {conversation_id} does not exist")
            return await self._get_conversation(conn, conversation_id)

    async def set_delivery_status(self, message_id: str, status: DeliveryStatus) -> DeliveryStatus:
        """Apply a provider status monotonically (see :func:`advance_delivery`); returns the result."""
        _, new = await self.apply_delivery_status(message_id, status)
        return new

    async def apply_delivery_status(
        self, message_id: str, status: DeliveryStatus
    ) -> tuple[DeliveryStatus | None, DeliveryStatus]:
        """Like :meth:`set_delivery_status`, returning ``(before, after)``. The write is a compare-and-set
        on the stored status, so of two concurrent callbacks exactly one sees the transition."""
        col = t.messages.c.delivery_status
        for _ in range(_INGEST_ATTEMPTS):
            async with self._db.begin() as conn:
                row = (await conn.execute(select(col).where(t.messages.c.id == message_id))).first()
                if row is None:
                    raise NotFound(f"message {message_id} does not exist")
                current = DeliveryStatus(row[0]) if row[0] else None
                new = advance_delivery(current, status)
                if new == current:
                    return current, new
                same = col.is_(None) if current is None else col == current.value
                res = await conn.execute(
                    update(t.messages)
                    .where(and_(t.messages.c.id == message_id, same))
                    .values(delivery_status=new.value)
                )
                if res.rowcount == 1:
                    return current, new
        raise RuntimeError(f"delivery status of message {message_id} kept changing under us")

    # -- contacts --------------------------------------------------------------------------------
    async def contact_for(self, conversation_id: str) -> Contact:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t.contacts)
                    .join(t.conversations, t.conversations.c.contact_id == t.contacts.c.id)
                    .where(t.conversations.c.id == conversation_id)
                )
            ).first()
        if row is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        m = row._mapping
        return Contact(
            id=m["id"],
            display_name=m["display_name"],
            backoffice_customer_id=m["backoffice_customer_id"],
            created_at=aware(m["created_at"]),
        )

    async def ticket_number(self, conversation_id: str) -> int | None:
        """The number customers quote (GD-10042); None for an unknown conversation."""
        async with self._db.read() as conn:
            value = (
                await conn.execute(
                    select(t.conversations.c.ticket_number).where(t.conversations.c.id == conversation_id)
                )
            ).scalar()
        return int(value) if value is not None else None

    async def identities_of(self, contact_id: str) -> list[ChannelIdentity]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(t.channel_identities).where(t.channel_identities.c.contact_id == contact_id)
            )
            return [to_identity(r) for r in rows]

    async def link_backoffice(self, contact_id: str, *, customer_id: str, display_name: str | None = None) -> None:
        values: dict[str, Any] = {"backoffice_customer_id": customer_id}
        if display_name:
            values["display_name"] = display_name
        async with self._db.begin() as conn:
            await conn.execute(update(t.contacts).where(t.contacts.c.id == contact_id).values(**values))

    async def verify_identity(self, identity_id: str) -> None:
        async with self._db.begin() as conn:
            await conn.execute(
                update(t.channel_identities).where(t.channel_identities.c.id == identity_id).values(verified=True)
            )


def _message_row(msg: Message) -> dict[str, Any]:
    row = msg.model_dump(mode="python")
    row["attachments"] = [a.model_dump(mode="json") for a in msg.attachments]
    row["direction"] = msg.direction.value
    row["author_kind"] = msg.author_kind.value
    row["channel"] = msg.channel.value
    row["delivery_status"] = msg.delivery_status.value if msg.delivery_status else None
    return row


def _conversation_row(conv: Conversation) -> dict[str, Any]:
    row = conv.model_dump(mode="python")
    for key in ("channel", "status", "priority"):
        row[key] = row[key].value
    return row
