"""Ports: the small typed interfaces the core needs. Each ships with a fake in ``conversation.fakes``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from conversation.addresses import Address
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
from conversation.models import (
    Attachment,
    ChannelIdentity,
    Conversation,
    DecisionRecord,
    IngestResult,
    InboundMessage,
    Message,
    TimelineEvent,
    TurnRef,
)

__all__ = [
    "MessageStore",
    "TimelineStore",
    "OutboxStore",
    "OutboxEntry",
    "BlobStore",
    "TurnQueue",
    "Delivery",
    "ConversationLocks",
    "LiveBus",
    "RateLimiter",
]


class MessageStore(Protocol):
    """Contacts, conversations and messages: the system of record."""

    async def ingest(
        self, inbound: InboundMessage, *, event: Callable[[Message, Conversation], TimelineEvent] | None = None
    ) -> IngestResult:
        """Store once per (channel, external_id); ``event`` (built from the new message and its
        conversation) is recorded in the same transaction, never for a duplicate."""
        ...

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
    ) -> Message: ...

    async def get_message(self, message_id: str) -> Message: ...

    async def list_messages(self, conversation_id: str) -> list[Message]: ...

    async def get_conversation(self, conversation_id: str) -> Conversation: ...

    async def find_conversation(self, *, status_token: str | None = None, reply_token: str | None = None) -> Conversation | None: ...

    async def find_message_by_external_id(self, channel: ChannelKind, external_id: str) -> Message | None: ...

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
    ) -> Conversation: ...

    async def set_delivery_status(self, message_id: str, status: DeliveryStatus) -> DeliveryStatus: ...

    async def revise_unsent(self, message_id: str, text: str) -> bool:
        """Replace the text of an outbound message that never went out; False once a send began."""
        ...

    async def apply_delivery_status(
        self, message_id: str, status: DeliveryStatus
    ) -> tuple[DeliveryStatus | None, DeliveryStatus]: ...

    async def find_identity(self, address: Address) -> ChannelIdentity | None: ...

    async def ensure_identity(self, contact_id: str, address: Address, *, verified: bool) -> ChannelIdentity: ...

    async def find_conversation_by_address(self, address: Address, *, channel: ChannelKind) -> Conversation | None: ...

    async def merge_contacts(
        self,
        from_contact_id: str,
        into_contact_id: str,
        *,
        evidence: str,
        actor: str,
        proven: Address | None = None,
    ) -> bool: ...


class TimelineStore(Protocol):
    async def add_event(self, event: TimelineEvent) -> None: ...

    async def list_events(self, conversation_id: str) -> list[TimelineEvent]: ...

    async def has_event(self, *, causation_id: str, types: Iterable[EventType]) -> bool: ...

    async def save_decision(self, record: DecisionRecord) -> None: ...

    async def decision_for(self, inbound_message_id: str) -> DecisionRecord | None: ...


class OutboxEntry(Protocol):
    id: str
    message_id: str
    state: OutboxState
    provider_id: str | None
    attempts: int


class OutboxStore(Protocol):
    """Never send twice: claim an entry before the provider call, record the provider id after."""

    async def create(self, message_id: str, *, channel: ChannelKind) -> str: ...

    async def claim(self, outbox_id: str) -> bool: ...

    async def mark_sent(self, outbox_id: str, *, provider_id: str) -> None: ...

    async def mark_failed(self, outbox_id: str, *, reason: str) -> None: ...

    async def release(self, outbox_id: str) -> None: ...

    async def get(self, outbox_id: str) -> OutboxEntry: ...


class BlobStore(Protocol):
    async def put(self, content: bytes, *, content_type: str) -> str: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


class Delivery(Protocol):
    entry_id: str
    ref: TurnRef
    deliveries: int


class TurnQueue(Protocol):
    """At-least-once work queue of turns (ids only)."""

    async def enqueue(self, ref: TurnRef) -> str: ...

    async def read(self, consumer: str, *, count: int, block_ms: int) -> list[Delivery]: ...

    async def ack(self, entry_id: str) -> None: ...

    async def dead_letter(self, delivery: Delivery, *, reason: str) -> None: ...


class ConversationLocks(Protocol):
    """One writer per conversation."""

    def hold(self, conversation_id: str, *, timeout_s: float, wait_s: float) -> Any: ...


class LiveBus(Protocol):
    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None: ...

    def subscribe(self, conversation_id: str | None) -> AsyncIterator[dict[str, Any]]: ...


class RateLimiter(Protocol):
    async def allow(self, key: str, *, limit: int, window_s: int) -> bool: ...
