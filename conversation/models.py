"""The unified conversation model: frozen pydantic models over closed enums."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from conversation.addresses import Address
from conversation.enums import (
    ActorKind,
    AuthorKind,
    ChannelKind,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    EventType,
    Priority,
    Route,
)
from conversation.ids import new_id

__all__ = [
    "utcnow",
    "Contact",
    "ChannelIdentity",
    "Conversation",
    "Attachment",
    "Message",
    "InboundMessage",
    "IngestResult",
    "TimelineEvent",
    "LookupRecord",
    "DecisionRecord",
    "OutboundMessage",
    "TurnRef",
]

MAX_TEXT = 100_000
MAX_EVENT_DATA = 4_096


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contact(_Frozen):
    id: str = Field(default_factory=lambda: new_id("ct"))
    display_name: str | None = None
    backoffice_customer_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ChannelIdentity(_Frozen):
    id: str = Field(default_factory=lambda: new_id("ci"))
    contact_id: str
    address: Address
    verified: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(_Frozen):
    id: str = Field(default_factory=lambda: new_id("cv"))
    contact_id: str
    channel: ChannelKind
    status: ConversationStatus = ConversationStatus.OPEN
    language: str | None = None
    queue: str | None = None
    priority: Priority = Priority.NORMAL
    assignee: str | None = None
    sla_due_at: datetime | None = None
    status_token: str
    reply_token: str
    last_seq: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Attachment(_Frozen):
    """Metadata only. The bytes live in the blob folder under ``blob_key``."""

    id: str = Field(default_factory=lambda: new_id("att"))
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    blob_key: str

    @field_validator("filename")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        cleaned = v.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
        return cleaned or "attachment"

    @staticmethod
    def digest(content: bytes) -> str:
        return hashlib.sha256(content).hexdigest()


class Message(_Frozen):
    id: str = Field(default_factory=lambda: new_id("msg"))
    conversation_id: str
    seq: int = Field(ge=1)
    direction: Direction
    author_kind: AuthorKind
    author_id: str | None = None
    channel: ChannelKind
    external_id: str | None = Field(default=None, max_length=998)
    text: str = Field(max_length=MAX_TEXT)
    attachments: tuple[Attachment, ...] = ()
    delivery_status: DeliveryStatus | None = None
    created_at: datetime = Field(default_factory=utcnow)
    meta: dict[str, Any] = Field(default_factory=dict)


class InboundMessage(_Frozen):
    """A command: store this inbound message (idempotently on ``channel`` + ``external_id``)."""

    channel: ChannelKind
    external_id: str = Field(min_length=1, max_length=998)
    address: Address
    text: str = Field(max_length=MAX_TEXT)
    attachments: tuple[Attachment, ...] = ()
    display_name: str | None = Field(default=None, max_length=200)
    conversation_id: str | None = None  # set when the channel already knows the thread
    received_at: datetime = Field(default_factory=utcnow)
    meta: dict[str, Any] = Field(default_factory=dict)


class IngestResult(_Frozen):
    message: Message
    conversation: Conversation
    created: bool  # False: a duplicate of an earlier delivery; nothing new was stored


class TimelineEvent(_Frozen):
    """One real step taken on a request. ``data`` is small and never holds message text or PII."""

    id: str = Field(default_factory=lambda: new_id("ev"))
    conversation_id: str
    type: EventType
    actor: ActorKind
    occurred_at: datetime = Field(default_factory=utcnow)
    causation_id: str | None = None  # the inbound message (or command) that caused it
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _small(cls, v: dict[str, Any]) -> dict[str, Any]:
        import json

        if len(json.dumps(v, default=str)) > MAX_EVENT_DATA:
            raise ValueError(f"event data is limited to {MAX_EVENT_DATA} bytes of JSON; store ids, not content")
        return v


class LookupRecord(_Frozen):
    """A back-office lookup made for a turn: which tool, on which id, with what outcome."""

    tool: str
    source_id: str
    ok: bool
    summary: str = ""
    connector: str = ""  # the back office that answered (connectors file name, e.g. "shop-rest")
    duration_ms: float | None = None


class DecisionRecord(_Frozen):
    """The explanation of a turn: what was decided, by which rule and policy version, on which facts."""

    id: str = Field(default_factory=lambda: new_id("dec"))
    conversation_id: str
    inbound_message_id: str
    route: Route
    rule_id: str
    policy_version: str
    reason: str
    facts: dict[str, Any] = Field(default_factory=dict)
    sources: tuple[str, ...] = ()
    lookups: tuple[LookupRecord, ...] = ()
    confidence: float | None = None
    draft_mode: str | None = None  # composer | llm
    model: str | None = None
    outbound_message_id: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class OutboundMessage(_Frozen):
    """A channel-neutral reply. Each channel adapter renders it (segments, HTML, headers)."""

    conversation_id: str
    message_id: str
    outbox_id: str
    channel: ChannelKind
    to: Address
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: str = "en"
    ai_generated: bool
    status_url: str | None = None
    reply_token: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject: str | None = None
    approved_by: str | None = None  # the person who checked an AI draft (named in the disclosure)
    author_name: str | None = None  # a human author's first name (agents' replies sign with it)
    author_kind: AuthorKind | None = None  # who wrote it: the AI, an agent, or the system (notices)
    ticket_number: int | None = None  # conversations.ticket_number: "[GD-10042]" in email subjects


class TurnRef(_Frozen):
    """What goes on the turn stream and into Prefect parameters: ids only, never content."""

    message_id: str
    conversation_id: str
