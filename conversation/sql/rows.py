"""Row <-> model mapping for the SQL adapters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from pydantic import TypeAdapter

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
)
from conversation.models import Attachment, Conversation, Message, TimelineEvent

__all__ = ["aware", "to_conversation", "to_message", "to_event", "ADDRESS"]

ADDRESS: TypeAdapter[Any] = TypeAdapter(Address)


@overload
def aware(ts: datetime) -> datetime: ...
@overload
def aware(ts: None) -> None: ...
@overload
def aware(ts: datetime | None) -> datetime | None: ...
def aware(ts: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC. None (a NULL column) stays None."""
    if ts is None:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def to_conversation(row: Any) -> Conversation:
    m = row._mapping
    return Conversation(
        id=m["id"],
        contact_id=m["contact_id"],
        channel=ChannelKind(m["channel"]),
        status=ConversationStatus(m["status"]),
        language=m["language"],
        queue=m["queue"],
        priority=Priority(m["priority"]),
        assignee=m["assignee"],
        sla_due_at=aware(m["sla_due_at"]),
        status_token=m["status_token"],
        reply_token=m["reply_token"],
        last_seq=m["last_seq"],
        created_at=aware(m["created_at"]),
        updated_at=aware(m["updated_at"]),
    )


def to_message(row: Any) -> Message:
    m = row._mapping
    return Message(
        id=m["id"],
        conversation_id=m["conversation_id"],
        seq=m["seq"],
        direction=Direction(m["direction"]),
        author_kind=AuthorKind(m["author_kind"]),
        author_id=m["author_id"],
        channel=ChannelKind(m["channel"]),
        external_id=m["external_id"],
        text=m["text"],
        attachments=tuple(Attachment.model_validate(a) for a in (m["attachments"] or [])),
        delivery_status=DeliveryStatus(m["delivery_status"]) if m["delivery_status"] else None,
        meta=m["meta"] or {},
        created_at=aware(m["created_at"]),
    )


def to_event(row: Any) -> TimelineEvent:
    m = row._mapping
    return TimelineEvent(
        id=m["id"],
        conversation_id=m["conversation_id"],
        type=EventType(m["type"]),
        actor=ActorKind(m["actor"]),
        causation_id=m["causation_id"],
        data=m["data"] or {},
        occurred_at=aware(m["occurred_at"]),
    )
