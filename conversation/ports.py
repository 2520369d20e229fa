"""Ports: the small typed interfaces the core needs. Each ships with a fake in ``conversation.fakes``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
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
    InboundMessage,
    IngestResult,
    Message,
    OutboundMessage,
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
    "ConversationLease",
    "ConversationLocks",
    "LiveBus",
    "RateLimiter",
    "ChannelSender",
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

    async def find_conversation(
        self, *, status_token: str | None = None, reply_token: str | None = None
    ) -> Conversation | None: ...

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
    """One delivery of a queued turn (read-only)."""

    @property
    def entry_id(self) -> str: ...

    @property
    def ref(self) -> TurnRef: ...

    @property
    def deliveries(self) -> int: ...


class TurnQueue(Protocol):
    """At-least-once work queue of turns (ids only)."""

    async def enqueue(self, ref: TurnRef) -> str: ...

    async def read(self, consumer: str, *, count: int, block_ms: int) -> list[Delivery]: ...

    async def ack(self, entry_id: str) -> None: ...

    async def dead_letter(self, delivery: Delivery, *, reason: str) -> None: ...


class ConversationLease(Protocol):
    """A held conversation: its fencing token, and a check to run before each write."""

    @property
    def token(self) -> int: ...

    def ensure(self) -> None:
        """Raise ``LockLost`` when the lease lapsed (another holder may own the conversation now)."""
        ...


class ConversationLocks(Protocol):
    """One writer per conversation: a renewed lease; a busy conversation raises ``LockNotAcquired``."""

    def hold(
        self, conversation_id: str, *, timeout_s: float | None = None, wait_s: float = 2.0
    ) -> AbstractAsyncContextManager[ConversationLease]: ...


class LiveBus(Protocol):
    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None: ...

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """``publish`` for each (conversation_id, payload), in order, in one round trip where it can."""
        ...

    def subscribe(self, conversation_id: str | None) -> AsyncIterator[dict[str, Any]]: ...


class RateLimiter(Protocol):
    async def allow(self, key: str, *, limit: int, window_s: int) -> bool: ...


class ChannelSender(Protocol):
    """Sends one channel-neutral outbound message and returns the provider's id for it.

    Each channel package ships one adapter and its fake. The adapter renders the message for its
    channel (subject and threading headers, SMS length, disclosure placement) and raises only
    ``TransientDeliveryError`` (nothing was delivered: retry), ``PermanentDeliveryError`` (refused
    for good) or ``OutcomeUnknown`` (it may have been delivered: never resend blindly)."""

    @property
    def channel(self) -> ChannelKind:
        """The one channel this sender serves."""
        ...

    @property
    def delivered_on_send(self) -> bool:
        """True when a successful send already reached the customer (chat); otherwise the provider
        confirms delivery later (an SMS status callback) or never (email)."""
        ...

    @property
    def resend_is_harmless(self) -> bool:
        """True when the customer sees a message sent twice with the same message id only once (the
        chat widget and its history keep one per id). A send interrupted mid-way (the worker died) is
        then simply sent again instead of going to a person to check; SMS and email would arrive twice."""
        ...

    async def send(self, message: OutboundMessage) -> str: ...

    async def aclose(self) -> None: ...
