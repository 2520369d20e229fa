"""Render the conversation model into chat frames: replies (with the AI badge and disclosure),
progress from timeline events, and the history a resumed session sees."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.chat.frames import HistoryFrame, HistoryMessage, ProgressFrame, ProgressStep, ReplyFrame
from conversation import (
    AuthorKind,
    ChannelKind,
    DeliveryStatus,
    Direction,
    EventType,
    Message,
    OutboundMessage,
    ai_disclosure,
    utcnow,
)

__all__ = [
    "CHAT_REPLY_EVENT",
    "chat_reply_payload",
    "reply_frame",
    "progress_frame",
    "history_frame",
    "is_visible_to_customer",
    "handoff_notice",
    "ui_language",
]

CHAT_REPLY_EVENT = "chat_reply"

_STEPS: dict[EventType, ProgressStep] = {
    EventType.RECEIVED: ProgressStep.RECEIVED,
    EventType.UNDERSTOOD: ProgressStep.WORKING,
    EventType.LOOKED_UP: ProgressStep.WORKING,
    EventType.DECIDED: ProgressStep.WORKING,
    EventType.DRAFTED: ProgressStep.WORKING,
    EventType.SENT: ProgressStep.REPLIED,
    EventType.HANDED_OFF: ProgressStep.HANDED_OFF,
    EventType.AWAITING_AGENT: ProgressStep.HANDED_OFF,
}

_HANDOFF = {
    "en": "A person from our team will answer you here.",
    "de": "Eine Person aus unserem Team wird Ihnen hier antworten.",
}

# Outbound messages a customer has been sent. Drafts and failed sends stay out of the history.
_DELIVERED = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.PARTIALLY_DELIVERED,
    }
)


def ui_language(language: str | None) -> str:
    """The widget's UI languages: German for ``de*``, English otherwise."""
    return "de" if (language or "").lower().startswith("de") else "en"


def handoff_notice(language: str | None) -> str:
    """The sentence shown when the conversation goes to a person."""
    return _HANDOFF[ui_language(language)]


class _ChatReply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event: str
    message_id: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1)
    ai: bool
    disclosure: str | None = None
    author: AuthorKind
    author_name: str | None = Field(default=None, max_length=80)
    at: datetime | None = None
    status_url: str | None = Field(default=None, max_length=2048)


def chat_reply_payload(msg: OutboundMessage) -> dict[str, Any]:
    """The live-bus payload that delivers ``msg`` to every chat socket of its conversation.

    Publish it with ``bus.publish(msg.conversation_id, chat_reply_payload(msg))``. AI-written
    replies carry the disclosure line in ``msg.language``; every reply carries the conversation's
    status-page link (``msg.status_url``), as email and SMS replies do."""
    if msg.channel != ChannelKind.CHAT:
        raise ValueError(f"chat_reply_payload renders chat messages only, not {msg.channel.value}")
    payload: dict[str, Any] = {
        "event": CHAT_REPLY_EVENT,
        "message_id": msg.message_id,
        "text": msg.text,
        "ai": msg.ai_generated,
        "disclosure": ai_disclosure(msg.language, approved_by=msg.approved_by) if msg.ai_generated else None,
        "author": (
            AuthorKind.AI
            if msg.ai_generated
            else AuthorKind.SYSTEM
            if msg.author_kind is AuthorKind.SYSTEM
            else AuthorKind.AGENT
        ).value,
        "at": utcnow().isoformat(),
    }
    if msg.author_name and not msg.ai_generated:
        payload["author_name"] = msg.author_name
    if msg.status_url:
        payload["status_url"] = msg.status_url
    return payload


def reply_frame(payload: Mapping[str, Any]) -> ReplyFrame | None:
    """The reply frame for a ``chat_reply`` bus payload; None for any other or a malformed payload."""
    if payload.get("event") != CHAT_REPLY_EVENT:
        return None
    try:
        reply = _ChatReply.model_validate(payload)
        author = AuthorKind.AI if reply.ai else reply.author
        if author not in (AuthorKind.AI, AuthorKind.AGENT, AuthorKind.SYSTEM):
            return None
        disclosure = reply.disclosure if reply.ai else None
        if reply.ai and not disclosure:
            disclosure = ai_disclosure(None)  # an AI reply never goes out unlabelled
        return ReplyFrame(
            message_id=reply.message_id,
            author=author,
            text=reply.text,
            ai=reply.ai,
            disclosure=disclosure,
            status_url=reply.status_url,
            author_name=reply.author_name,
            at=reply.at,
        )
    except ValidationError:
        return None


def progress_frame(payload: Mapping[str, Any], *, language: str | None) -> ProgressFrame | None:
    """The progress frame for a timeline-event payload; None for events the customer does not see."""
    raw = payload.get("event")
    if not isinstance(raw, str):
        return None
    try:
        event = EventType(raw)
    except ValueError:
        return None
    step = _STEPS.get(event)
    if step is None:
        return None
    if step == ProgressStep.REPLIED and payload.get("actor") == "system":
        return None  # a system notice (a person takes over) is not an answer: the widget keeps "a person will answer"
    message_id = payload.get("message_id")
    return ProgressFrame(
        step=step,
        event=event.value,
        message_id=message_id if isinstance(message_id, str) else None,
        notice=handoff_notice(language) if step == ProgressStep.HANDED_OFF else None,
    )


def is_visible_to_customer(message: Message) -> bool:
    """Customer messages, and outbound messages that were actually sent (no drafts, no notes)."""
    if message.meta.get("internal"):
        return False
    if message.direction == Direction.INBOUND:
        return True
    return message.delivery_status in _DELIVERED


def history_frame(messages: Iterable[Message], *, language: str | None) -> HistoryFrame:
    """What a resumed session sees, oldest first."""
    items = []
    for m in messages:
        if not is_visible_to_customer(m):
            continue
        disclosure = None
        if m.author_kind == AuthorKind.AI:
            approver = m.meta.get("approved_by")
            disclosure = ai_disclosure(language, approved_by=approver if isinstance(approver, str) else None)
        items.append(
            HistoryMessage(id=m.id, author=m.author_kind, text=m.text, at=m.created_at, ai_disclosure=disclosure)
        )
    return HistoryFrame(messages=tuple(items))
