"""In-memory fakes of the ports, for unit tests. Same behaviour as the adapters, no I/O."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from conversation.addresses import Address, address_key
from conversation.delivery import advance_delivery
from conversation.enums import (
    AuthorKind,
    ChannelKind,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    EventType,
    OutboxState,
    Priority,
)
from conversation.errors import LockLost, LockNotAcquired, NotFound
from conversation.ids import new_id, new_reply_token, new_token
from conversation.models import (
    Attachment,
    ChannelIdentity,
    Contact,
    Conversation,
    DecisionRecord,
    InboundMessage,
    IngestResult,
    Message,
    TimelineEvent,
    TurnRef,
    utcnow,
)

__all__ = [
    "FakeMessageStore",
    "FakeTimelineStore",
    "FakeOutboxStore",
    "FakeTurnQueue",
    "FakeDelivery",
    "FakeConversationLocks",
    "FakeLiveBus",
    "FakeRateLimiter",
]


class FakeMessageStore:
    def __init__(self, timeline: FakeTimelineStore | None = None) -> None:
        self.timeline = timeline  # where ``ingest(..., event=...)`` records its event
        self.contacts: dict[str, Contact] = {}
        self.identities: dict[tuple[str, str], str] = {}
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[str, Message] = {}
        self._by_external: dict[tuple[str, str], str] = {}
        self._lock = asyncio.Lock()
        self.identity_rows: dict[tuple[str, str], ChannelIdentity] = {}  # (kind, key) -> id, address, created_at
        self.verified: set[tuple[str, str]] = set()
        self.merges: list[dict[str, Any]] = []

    async def ingest(
        self, inbound: InboundMessage, *, event: Callable[[Message, Conversation], TimelineEvent] | None = None
    ) -> IngestResult:
        async with self._lock:
            key = (inbound.channel.value, inbound.external_id)
            if key in self._by_external:
                msg = self.messages[self._by_external[key]]
                return IngestResult(message=msg, conversation=self.conversations[msg.conversation_id], created=False)
            ident = (inbound.address.kind, address_key(inbound.address))
            contact_id = self.identities.get(ident)
            if contact_id is None:
                contact = Contact(display_name=inbound.display_name)
                self.contacts[contact.id] = contact
                self.identities[ident] = contact_id = contact.id
            conv = self._open_conversation(contact_id, inbound)
            msg = self._append(
                conv.id,
                inbound.text,
                direction=Direction.INBOUND,
                author_kind=AuthorKind.CUSTOMER,
                channel=inbound.channel,
                external_id=inbound.external_id,
                attachments=inbound.attachments,
                meta=inbound.meta,
            )
            msg = msg.model_copy(update={"delivery_status": DeliveryStatus.RECEIVED})
            self.messages[msg.id] = msg
            self._by_external[key] = msg.id
            conv = self.conversations[conv.id]
            if event is not None and self.timeline is not None:
                self.timeline.events.append(event(msg, conv))
            return IngestResult(message=msg, conversation=conv, created=True)

    def _open_conversation(self, contact_id: str, inbound: InboundMessage) -> Conversation:
        hinted = self.conversations.get(inbound.conversation_id or "")
        if hinted is not None and hinted.contact_id == contact_id:
            return hinted
        for conv in self.conversations.values():
            if (
                conv.contact_id == contact_id
                and conv.channel == inbound.channel
                and conv.status != ConversationStatus.CLOSED
            ):
                return conv
        conv = Conversation(
            contact_id=contact_id, channel=inbound.channel, status_token=new_token(), reply_token=new_reply_token()
        )
        self.conversations[conv.id] = conv
        return conv

    def _append(self, conversation_id: str, text: str, **fields: Any) -> Message:
        conv = self.conversations.get(conversation_id)
        if conv is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        seq = conv.last_seq + 1
        self.conversations[conversation_id] = conv.model_copy(update={"last_seq": seq, "updated_at": utcnow()})
        msg = Message(conversation_id=conversation_id, seq=seq, text=text, **fields)
        self.messages[msg.id] = msg
        return msg

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
        async with self._lock:
            return self._append(
                conversation_id,
                text,
                direction=direction,
                author_kind=author_kind,
                channel=channel,
                author_id=author_id,
                external_id=external_id,
                attachments=attachments,
                meta=meta or {},
            )

    async def get_message(self, message_id: str) -> Message:
        try:
            return self.messages[message_id]
        except KeyError as exc:
            raise NotFound(f"message {message_id} does not exist") from exc

    async def list_messages(self, conversation_id: str) -> list[Message]:
        return sorted((m for m in self.messages.values() if m.conversation_id == conversation_id), key=lambda m: m.seq)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        try:
            return self.conversations[conversation_id]
        except KeyError as exc:
            raise NotFound(f"conversation {conversation_id} does not exist") from exc

    async def find_conversation(
        self, *, status_token: str | None = None, reply_token: str | None = None
    ) -> Conversation | None:
        for conv in self.conversations.values():
            if (status_token and conv.status_token == status_token) or (
                reply_token and conv.reply_token == reply_token
            ):
                return conv
        return None

    async def find_message_by_external_id(self, channel: ChannelKind, external_id: str) -> Message | None:
        mid = self._by_external.get((channel.value, external_id))
        return self.messages.get(mid) if mid else None

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
        conv = await self.get_conversation(conversation_id)
        update: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        for name, value in (
            ("queue", queue),
            ("priority", priority),
            ("assignee", assignee),
            ("sla_due_at", sla_due_at),
            ("language", language),
        ):
            if value is not None:
                update[name] = value
        conv = conv.model_copy(update=update)
        self.conversations[conversation_id] = conv
        return conv

    async def set_delivery_status(self, message_id: str, status: DeliveryStatus) -> DeliveryStatus:
        _, new = await self.apply_delivery_status(message_id, status)
        return new

    async def revise_unsent(self, message_id: str, text: str) -> bool:
        """The fake has no outbox: a message counts as unsent until it has a provider id."""
        msg = self.messages.get(message_id)
        if msg is None or msg.direction is not Direction.OUTBOUND or msg.external_id:
            return False
        self.messages[message_id] = msg.model_copy(update={"text": text})
        return True

    async def apply_delivery_status(
        self, message_id: str, status: DeliveryStatus
    ) -> tuple[DeliveryStatus | None, DeliveryStatus]:
        msg = await self.get_message(message_id)
        new = advance_delivery(msg.delivery_status, status)
        self.messages[message_id] = msg.model_copy(update={"delivery_status": new})
        return msg.delivery_status, new

    # -- identities and merges (same rules as SqlMessageStore) ------------------------------------
    def _identity(self, key: tuple[str, str], address: Address | None = None) -> ChannelIdentity | None:
        if key not in self.identities:
            return None
        return self._stored_identity(key, address)

    def _stored_identity(self, key: tuple[str, str], address: Address | None = None) -> ChannelIdentity:
        """The identity under ``key``, which must exist in ``identities``."""
        owner = self.identities[key]
        row = self.identity_rows.get(key)
        if row is None:
            assert address is not None, "an identity created by ingest is first read by its address"
            row = ChannelIdentity(contact_id=owner, address=address)
            self.identity_rows[key] = row
        return row.model_copy(update={"contact_id": owner, "verified": key in self.verified})

    async def find_identity(self, address: Address) -> ChannelIdentity | None:
        return self._identity((address.kind, address_key(address)), address)

    async def ensure_identity(self, contact_id: str, address: Address, *, verified: bool) -> ChannelIdentity:
        async with self._lock:
            key = (address.kind, address_key(address))
            existing = self._identity(key, address)
            if existing is not None:
                if existing.contact_id == contact_id and verified:
                    self.verified.add(key)
                return self._stored_identity(key, address)
            if contact_id not in self.contacts:
                raise NotFound(f"contact {contact_id} does not exist")
            self.identities[key] = contact_id
            self.identity_rows[key] = ChannelIdentity(contact_id=contact_id, address=address)
            if verified:
                self.verified.add(key)
            return self._stored_identity(key, address)

    async def find_conversation_by_address(self, address: Address, *, channel: ChannelKind) -> Conversation | None:
        owner = self.identities.get((address.kind, address_key(address)))
        found = [c for c in self.conversations.values() if c.contact_id == owner and c.channel == channel]
        return max(found, key=lambda c: c.updated_at) if owner and found else None

    async def merge_contacts(
        self,
        from_contact_id: str,
        into_contact_id: str,
        *,
        evidence: str,
        actor: str,
        proven: Address | None = None,
    ) -> bool:
        if from_contact_id == into_contact_id:
            raise ValueError(f"contact {from_contact_id} cannot be merged into itself")
        if not evidence.strip() or len(evidence) > 255 or not actor.strip() or len(actor) > 64:
            raise ValueError("evidence (1-255 characters) and actor (1-64 characters) are required")
        async with self._lock:
            for cid in (from_contact_id, into_contact_id):
                if cid not in self.contacts:
                    raise NotFound(f"contact {cid} does not exist")
            recorded = False
            for m in self.merges:
                if m["from_contact_id"] == into_contact_id:
                    raise ValueError(f"contact {into_contact_id} was merged into {m['into_contact_id']}")
                if m["from_contact_id"] == from_contact_id:
                    if m["into_contact_id"] != into_contact_id:
                        raise ValueError(f"contact {from_contact_id} was already merged into {m['into_contact_id']}")
                    recorded = True
            proven_key = (proven.kind, address_key(proven)) if proven is not None else None
            if proven_key is not None and self.identities.get(proven_key) not in (from_contact_id, into_contact_id):
                raise ValueError(f"the proven {proven_key[0]} address is not an identity of contact {into_contact_id}")
            for key, owner in list(self.identities.items()):
                if owner == from_contact_id:
                    self.identities[key] = into_contact_id
            for cid, conv in list(self.conversations.items()):
                if conv.contact_id == from_contact_id:
                    self.conversations[cid] = conv.model_copy(
                        update={"contact_id": into_contact_id, "updated_at": utcnow()}
                    )
            source, target = self.contacts[from_contact_id], self.contacts[into_contact_id]
            carry = {
                k: getattr(source, k)
                for k in ("backoffice_customer_id", "display_name")
                if getattr(source, k) and not getattr(target, k)
            }
            if carry:
                self.contacts[into_contact_id] = target.model_copy(update=carry)
            if proven_key is not None:
                self.verified.add(proven_key)
            if not recorded:
                self.merges.append(
                    {
                        "id": new_id("mg"),
                        "from_contact_id": from_contact_id,
                        "into_contact_id": into_contact_id,
                        "evidence": evidence,
                        "actor": actor,
                        "created_at": utcnow(),
                    }
                )
            return not recorded

    async def merges_of(self, contact_id: str) -> list[dict[str, Any]]:
        return [dict(m) for m in self.merges if contact_id in (m["from_contact_id"], m["into_contact_id"])]


class FakeTimelineStore:
    def __init__(self) -> None:
        self.events: list[TimelineEvent] = []
        self.decisions: dict[str, DecisionRecord] = {}

    async def add_event(self, event: TimelineEvent) -> None:
        self.events.append(event)

    async def list_events(self, conversation_id: str) -> list[TimelineEvent]:
        return [e for e in self.events if e.conversation_id == conversation_id]

    async def has_event(self, *, causation_id: str, types: Iterable[EventType]) -> bool:
        kinds = set(types)
        return any(e.causation_id == causation_id and e.type in kinds for e in self.events)

    async def save_decision(self, record: DecisionRecord) -> None:
        self.decisions[record.inbound_message_id] = record

    async def decision_for(self, inbound_message_id: str) -> DecisionRecord | None:
        return self.decisions.get(inbound_message_id)


@dataclass(frozen=True, slots=True)
class _FakeOutboxRow:
    id: str
    message_id: str
    channel: ChannelKind
    state: OutboxState
    provider_id: str | None = None
    attempts: int = 0
    last_error: str | None = None


class FakeOutboxStore:
    def __init__(self) -> None:
        self.rows: dict[str, _FakeOutboxRow] = {}

    async def create(self, message_id: str, *, channel: ChannelKind) -> str:
        for row in self.rows.values():
            if row.message_id == message_id:
                return row.id
        oid = new_id("ob")
        self.rows[oid] = _FakeOutboxRow(oid, message_id, channel, OutboxState.PENDING)
        return oid

    async def claim(self, outbox_id: str) -> bool:
        row = await self.get(outbox_id)
        if row.state is not OutboxState.PENDING:
            return False
        self.rows[outbox_id] = replace(row, state=OutboxState.SENDING, attempts=row.attempts + 1)
        return True

    async def mark_sent(self, outbox_id: str, *, provider_id: str) -> None:
        self.rows[outbox_id] = replace(await self.get(outbox_id), state=OutboxState.SENT, provider_id=provider_id)

    async def mark_failed(self, outbox_id: str, *, reason: str) -> None:
        self.rows[outbox_id] = replace(await self.get(outbox_id), state=OutboxState.FAILED, last_error=reason)

    async def release(self, outbox_id: str) -> None:
        row = await self.get(outbox_id)
        if row.state is OutboxState.SENDING:
            self.rows[outbox_id] = replace(row, state=OutboxState.PENDING)

    async def get(self, outbox_id: str) -> _FakeOutboxRow:
        try:
            return self.rows[outbox_id]
        except KeyError as exc:
            raise NotFound(f"outbox entry {outbox_id} does not exist") from exc


@dataclass(frozen=True, slots=True)
class FakeDelivery:
    entry_id: str
    ref: TurnRef
    deliveries: int


class FakeTurnQueue:
    """Mirrors the stream semantics: pending until ack, redelivered to whoever reads after ``reclaim``."""

    def __init__(self) -> None:
        self._seq = 0
        self.entries: dict[str, TurnRef] = {}
        self.new: list[str] = []
        self.pending: dict[str, int] = {}
        self.dead: list[tuple[FakeDelivery, str]] = []

    async def enqueue(self, ref: TurnRef) -> str:
        self._seq += 1
        eid = f"{self._seq}-0"
        self.entries[eid] = ref
        self.new.append(eid)
        return eid

    def reclaim(self) -> None:
        """Simulate the idle timeout passing: every pending entry becomes claimable."""
        self.new = [e for e in self.pending if e not in self.new] + self.new

    async def read(self, consumer: str, *, count: int, block_ms: int) -> list[FakeDelivery]:
        out: list[FakeDelivery] = []
        while self.new and len(out) < count:
            eid = self.new.pop(0)
            self.pending[eid] = self.pending.get(eid, 0) + 1
            out.append(FakeDelivery(eid, self.entries[eid], self.pending[eid]))
        return out

    async def ack(self, entry_id: str) -> None:
        self.pending.pop(entry_id, None)

    async def dead_letter(self, delivery: FakeDelivery, *, reason: str) -> None:
        self.dead.append((delivery, reason))
        await self.ack(delivery.entry_id)


@dataclass
class FakeLease:
    conversation_id: str
    token: int
    lost: bool = False

    def ensure(self) -> None:
        if self.lost:
            raise LockLost(f"the lease on conversation {self.conversation_id} lapsed")


class FakeConversationLocks:
    def __init__(self) -> None:
        self.held: dict[str, FakeLease] = {}
        self._tokens = 0

    @asynccontextmanager
    async def hold(
        self, conversation_id: str, *, timeout_s: float | None = None, wait_s: float = 2.0
    ) -> AsyncIterator[FakeLease]:
        deadline = time.monotonic() + wait_s
        while conversation_id in self.held:
            if time.monotonic() > deadline:
                raise LockNotAcquired(f"conversation {conversation_id} is held by another worker")
            await asyncio.sleep(0.005)
        self._tokens += 1
        lease = FakeLease(conversation_id, self._tokens)
        self.held[conversation_id] = lease
        try:
            yield lease
        finally:
            self.held.pop(conversation_id, None)


class FakeLiveBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self._queues: dict[str | None, list[asyncio.Queue[dict[str, Any]]]] = defaultdict(list)

    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        item = {"conversation_id": conversation_id, **payload}
        self.published.append((conversation_id, item))
        for key in (conversation_id, None):
            for q in self._queues[key]:
                q.put_nowait(item)

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        for conversation_id, payload in items:
            await self.publish(conversation_id, payload)

    async def subscribe(self, conversation_id: str | None) -> AsyncIterator[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[conversation_id].append(q)
        try:
            while True:
                yield await q.get()
        finally:
            self._queues[conversation_id].remove(q)


class FakeRateLimiter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)

    async def allow(self, key: str, *, limit: int, window_s: int) -> bool:
        self.counts[key] += 1
        return self.counts[key] <= limit
