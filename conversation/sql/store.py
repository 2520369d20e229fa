"""SQL adapter of the message store: idempotent ingest and gap-free sequence numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
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
    IngestResult,
    InboundMessage,
    Message,
    utcnow,
)
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import ADDRESS, aware, to_conversation, to_message

__all__ = ["SqlMessageStore"]

_INGEST_ATTEMPTS = 8


class SqlMessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- inbound -------------------------------------------------------------------------------
    async def ingest(self, inbound: InboundMessage) -> IngestResult:
        """Store an inbound message once. A second delivery of the same (channel, external_id)
        returns the stored message with ``created=False`` and writes nothing."""
        last_error: Exception | None = None
        for _ in range(_INGEST_ATTEMPTS):
            existing = await self._existing(inbound.channel, inbound.external_id)
            if existing is not None:
                return existing
            try:
                async with self._db.begin() as conn:
                    contact_id = await self._identity(conn, inbound)
                    conv = await self._conversation_for(conn, inbound, contact_id)
                    seq = await self._next_seq(conn, conv.id)
                    msg = Message(
                        conversation_id=conv.id,
                        seq=seq,
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
                    conv = conv.model_copy(update={"last_seq": seq})
                return IngestResult(message=msg, conversation=conv, created=True)
            except IntegrityError as exc:  # a concurrent delivery won the race: read its row
                last_error = exc
        raise RuntimeError(f"ingest of {inbound.channel}:{inbound.external_id} kept conflicting") from last_error

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

    async def _identity(self, conn: AsyncConnection, inbound: InboundMessage) -> str:
        key = address_key(inbound.address)
        kind = inbound.address.kind
        row = (
            await conn.execute(
                select(t.channel_identities.c.contact_id).where(
                    and_(t.channel_identities.c.kind == kind, t.channel_identities.c.address == key)
                )
            )
        ).first()
        if row is not None:
            return row[0]
        contact = Contact(display_name=inbound.display_name)
        await conn.execute(insert(t.contacts).values(**contact.model_dump()))
        ident = ChannelIdentity(contact_id=contact.id, address=inbound.address)
        await conn.execute(
            insert(t.channel_identities).values(
                id=ident.id,
                contact_id=contact.id,
                kind=kind,
                address=key,
                verified=False,
                created_at=ident.created_at,
            )
        )
        return contact.id

    async def _conversation_for(self, conn: AsyncConnection, inbound: InboundMessage, contact_id: str) -> Conversation:
        if inbound.conversation_id is not None:
            row = (
                await conn.execute(
                    select(t.conversations).where(
                        and_(t.conversations.c.id == inbound.conversation_id, t.conversations.c.contact_id == contact_id)
                    )
                )
            ).first()
            if row is not None:
                return to_conversation(row)
        row = (
            await conn.execute(
                select(t.conversations)
                .where(
                    and_(
                        t.conversations.c.contact_id == contact_id,
                        t.conversations.c.channel == inbound.channel.value,
                        t.conversations.c.status != ConversationStatus.CLOSED.value,
                    )
                )
                .order_by(t.conversations.c.updated_at.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            return to_conversation(row)
        conv = Conversation(
            contact_id=contact_id, channel=inbound.channel, status_token=new_token(), reply_token=new_reply_token()
        )
        await conn.execute(insert(t.conversations).values(**_conversation_row(conv)))
        return conv

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
        async with self._db.begin() as conn:
            row = (
                await conn.execute(select(t.messages.c.delivery_status).where(t.messages.c.id == message_id))
            ).first()
            if row is None:
                raise NotFound(f"message {message_id} does not exist")
            current = DeliveryStatus(row[0]) if row[0] else None
            new = advance_delivery(current, status)
            if new != current:
                await conn.execute(
                    update(t.messages).where(t.messages.c.id == message_id).values(delivery_status=new.value)
                )
        return new

    # -- contacts --------------------------------------------------------------------------------
    async def contact_for(self, conversation_id: str) -> Contact:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t.contacts).join(t.conversations, t.conversations.c.contact_id == t.contacts.c.id)
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

    async def identities_of(self, contact_id: str) -> list[ChannelIdentity]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(t.channel_identities).where(t.channel_identities.c.contact_id == contact_id)
            )
            return [
                ChannelIdentity(
                    id=r.id,
                    contact_id=r.contact_id,
                    address=ADDRESS.validate_python(_address_dict(r.kind, r.address)),
                    verified=r.verified,
                    created_at=aware(r.created_at),
                )
                for r in rows
            ]

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


def _address_dict(kind: str, value: str) -> dict[str, str]:
    field = {"email": "address", "phone": "number", "chat": "session_id"}[kind]
    return {"kind": kind, field: value}


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


