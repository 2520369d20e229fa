"""The agent desk: what a person does to a conversation, each action checked against its state.

Every action holds the conversation's lock, writes a timeline event as ``ActorKind.HUMAN``, records
feedback and an audit entry, and publishes a live update (ids and kinds only). Sending goes through
:class:`services.delivery.Deliverer`, so the outbox guarantees one send per reply:

- approve: the AI draft unchanged, as AI-authored (the disclosure says who checked it);
- send edited: the agent's version, as agent-authored; the draft and the edit become feedback;
- reject: a reason code from a closed list; the conversation goes to the rejecting agent;
- take over / hand back: the person or the automation is in charge;
- reply: free text from the agent in charge; note: internal, never shown to the customer;
- intent correction: feedback for retraining (the message text redacted).
"""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from conversation import (
    ActorKind,
    AuthorKind,
    Conversation,
    ConversationStatus,
    DecisionRecord,
    Direction,
    EventType,
    FeedbackKind,
    LockNotAcquired,
    Message,
    NotFound,
    Route,
    TimelineEvent,
    TurnRef,
    utcnow,
)
from services.container import Container

__all__ = [
    "AgentDesk",
    "DeskActor",
    "DeskConflict",
    "DeskBusy",
    "RejectReason",
    "FeedbackKind",
    "DraftState",
    "clean_text",
    "pending_draft",
    "known_intents",
]

_REPLY_KEY = "gd:desk:reply:"
_LOCK_WAIT_S = 5.0
_MAX_NOTE_JSON = 4000  # timeline event data is small (conversation.models.MAX_EVENT_DATA)

# C0/C1 control characters except tab and newline, and the bidirectional overrides/isolates that
# can make text read differently from what it is (Trojan Source).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(text: str) -> str:
    """Text safe to store and to show: no control characters, no bidi overrides, NFC, \\n newlines."""
    return _UNSAFE.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))


@enum.unique
class RejectReason(enum.StrEnum):
    WRONG_INTENT = "wrong_intent"
    WRONG_FACTS = "wrong_facts"
    MISSING_KNOWLEDGE = "missing_knowledge"
    TONE = "tone"
    POLICY = "policy"
    OTHER = "other"


@enum.unique
class DraftState(enum.StrEnum):
    """What became of a draft (``facts["draft_state"]`` of its decision record)."""

    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"


class DeskConflict(Exception):
    """The action does not fit the conversation's state (HTTP 409); the message says why."""


class DeskBusy(Exception):
    """Someone else is changing this conversation right now; try again (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class DeskActor:
    username: str
    display_name: str


def pending_draft(decisions: list[DecisionRecord]) -> DecisionRecord | None:
    """The newest decision whose draft waits for a person, if any."""
    for record in reversed(decisions):
        if (
            record.route is Route.DRAFT_FOR_APPROVAL
            and record.facts.get("draft_text")
            and not record.facts.get("draft_state")
            and record.outbound_message_id is None
        ):
            return record
    return None


def known_intents() -> tuple[str, ...]:
    """The intent labels an agent may choose (the labels of the shipped training data)."""
    global _INTENTS
    if _INTENTS is None:
        import csv

        from understanding import demo_data_path
        from understanding.demo import DEMO_TRAIN_CSV

        path = demo_data_path(DEMO_TRAIN_CSV)
        with open(path, newline="", encoding="utf-8") as fh:
            _INTENTS = tuple(sorted({row["label"] for row in csv.DictReader(fh) if row.get("label")}))
    return _INTENTS


_INTENTS: tuple[str, ...] | None = None


class AgentDesk:
    def __init__(self, services: Container) -> None:
        self._s = services

    def _redact(self, text: str) -> str:
        return self._s.redactor.redact(text).text

    @asynccontextmanager
    async def _held(self, conversation_id: str) -> AsyncIterator[Conversation]:
        conv = await self._s.messages.get_conversation(conversation_id)  # NotFound first: no lock for junk ids
        try:
            async with self._s.locks.hold(conversation_id, wait_s=_LOCK_WAIT_S):
                yield await self._s.messages.get_conversation(conv.id)  # re-read under the lock
        except LockNotAcquired:
            raise DeskBusy("Someone else is changing this conversation right now. Try again in a moment.") from None

    # -- drafts -----------------------------------------------------------------------------------
    async def approve(self, conversation_id: str, *, actor: DeskActor) -> Message:
        """Send the AI draft unchanged: AI-authored, disclosed, with the approving person's name."""
        async with self._held(conversation_id) as conv:
            record = await self._awaiting(conv)
            text = str(record.facts["draft_text"])
            msg = await self._s.deliverer.deliver(
                conv.id,
                text,
                author_kind=AuthorKind.AI,
                language=conv.language or "en",
                causation_id=record.inbound_message_id,
                approved_by=actor.display_name,
            )
            await self._settle(record, DraftState.APPROVED, actor, outbound_message_id=msg.id)
            await self._s.messages.route_conversation(conv.id, ConversationStatus.OPEN, assignee="")
            await self._event(
                conv.id,
                EventType.APPROVED,
                record.inbound_message_id,
                {"message_id": msg.id, "decision_id": record.id, "edited": False},
            )
            await self._audit(actor, "inbox.approved", conv.id, {"decision_id": record.id, "message_id": msg.id})
            return msg

    async def send_edited(self, conversation_id: str, text: str, *, actor: DeskActor) -> Message:
        """Send the agent's edit of the draft: agent-authored; the draft and the edit are feedback."""
        text = clean_text(text).strip()
        if not text:
            raise DeskConflict("The edited reply is empty. Write the reply, or reject the draft.")
        async with self._held(conversation_id) as conv:
            record = await self._awaiting(conv)
            draft = str(record.facts["draft_text"])
            if text == clean_text(draft).strip():
                raise DeskConflict("The text is unchanged. Use Approve to send the draft as it is.")
            msg = await self._s.deliverer.deliver(
                conv.id,
                text,
                author_kind=AuthorKind.AGENT,
                language=conv.language or "en",
                causation_id=record.inbound_message_id,
                author_id=actor.username,
            )
            await self._settle(record, DraftState.EDITED, actor, outbound_message_id=msg.id)
            await self._s.messages.route_conversation(conv.id, ConversationStatus.OPEN, assignee="")
            await self._s.feedback.add(
                FeedbackKind.DRAFT_EDIT.value,
                actor=actor.username,
                conversation_id=conv.id,
                message_id=record.inbound_message_id,
                label=_intent_of(record),
                text=json.dumps({"draft": self._redact(draft), "edited": self._redact(text)}, ensure_ascii=False),
            )
            await self._event(
                conv.id,
                EventType.APPROVED,
                record.inbound_message_id,
                {"message_id": msg.id, "decision_id": record.id, "edited": True},
            )
            await self._audit(actor, "inbox.sent_edited", conv.id, {"decision_id": record.id, "message_id": msg.id})
            return msg

    async def reject(self, conversation_id: str, reason: RejectReason, *, comment: str = "", actor: DeskActor) -> None:
        """Refuse the draft. Nothing is sent; the rejecting person now answers the customer."""
        comment = clean_text(comment).strip()
        async with self._held(conversation_id) as conv:
            record = await self._awaiting(conv)
            await self._settle(record, DraftState.REJECTED, actor, reject_reason=reason.value)
            await self._s.messages.route_conversation(conv.id, ConversationStatus.HANDED_OFF, assignee=actor.username)
            label = _intent_of(record)
            await self._s.feedback.add(
                FeedbackKind.DRAFT_REJECTED.value,
                actor=actor.username,
                conversation_id=conv.id,
                message_id=record.inbound_message_id,
                label=label,
                reason=reason.value,
                text=json.dumps(
                    {"draft": self._redact(str(record.facts["draft_text"])), "comment": self._redact(comment)},
                    ensure_ascii=False,
                ),
            )
            if reason is RejectReason.MISSING_KNOWLEDGE:
                inbound = await self._s.messages.get_message(record.inbound_message_id)
                await self._s.feedback.add(
                    FeedbackKind.KNOWLEDGE_GAP.value,
                    actor=actor.username,
                    conversation_id=conv.id,
                    message_id=inbound.id,
                    label=label,
                    text=self._redact(inbound.text)[:4000],
                    reason=self._redact(comment)[:255] or None,
                )
            await self._event(
                conv.id,
                EventType.REJECTED,
                record.inbound_message_id,
                {"decision_id": record.id, "reason": reason.value},
            )
            await self._audit(actor, "inbox.rejected", conv.id, {"decision_id": record.id, "reason": reason.value})

    # -- who is in charge -------------------------------------------------------------------------
    async def take_over(self, conversation_id: str, *, actor: DeskActor) -> None:
        async with self._held(conversation_id) as conv:
            if conv.status is ConversationStatus.CLOSED:
                raise DeskConflict("This conversation is closed.")
            if conv.assignee == actor.username and conv.status is ConversationStatus.HANDED_OFF:
                raise DeskConflict("You have already taken over this conversation.")
            if conv.assignee and conv.assignee != actor.username and conv.status is ConversationStatus.HANDED_OFF:
                raise DeskConflict(f"{conv.assignee} has already taken over this conversation.")
            await self._s.messages.route_conversation(conv.id, ConversationStatus.HANDED_OFF, assignee=actor.username)
            await self._event(
                conv.id, EventType.TAKEN_OVER, None, {"by": actor.username, "from_status": conv.status.value}
            )
            await self._audit(actor, "inbox.taken_over", conv.id, {"from_status": conv.status.value})

    async def unanswered(self, conversation_id: str) -> list[Message]:
        """Customer messages with no answer yet: those after the last message we sent (by a person, the
        AI or the system). Derived from the messages themselves, never kept as a second record."""
        messages = await self._s.messages.list_messages(conversation_id)
        out: list[Message] = []
        for m in messages:
            if m.direction is Direction.OUTBOUND:
                out = []
            elif m.author_kind is AuthorKind.CUSTOMER:
                out.append(m)
        return out

    async def hand_back(self, conversation_id: str, *, actor: DeskActor, answer_unanswered: bool = True) -> int:
        """Give the conversation back to the automation. Every unanswered customer message gets its turn
        queued (the automation answers it); with ``answer_unanswered=False`` and messages waiting, the
        conversation stays with the person instead. Returns how many turns were queued."""
        async with self._held(conversation_id) as conv:
            if conv.status is not ConversationStatus.HANDED_OFF:
                raise DeskConflict(
                    "Only a conversation that a person has can be handed back to the automation "
                    f"(this one is {conv.status.value.replace('_', ' ')})."
                )
            if conv.assignee and conv.assignee != actor.username:
                raise DeskConflict(f"{conv.assignee} is in charge of this conversation; they can hand it back.")
            waiting = await self.unanswered(conv.id)
            if waiting and not answer_unanswered:
                raise DeskConflict(
                    f"{len(waiting)} customer message(s) have no answer yet; the conversation stays "
                    "with you. Answer them, or hand back and let the automation answer them."
                )
            await self._s.messages.route_conversation(conv.id, ConversationStatus.OPEN, assignee="")
            for m in waiting:  # queued after the state change: the turn sees the automation in charge
                await self._s.queue.enqueue(TurnRef(message_id=m.id, conversation_id=m.conversation_id))
            await self._event(
                conv.id, EventType.HANDED_BACK, None, {"by": actor.username, "queued_turns": len(waiting)}
            )
            await self._audit(actor, "inbox.handed_back", conv.id, {"queued_turns": len(waiting)})
            return len(waiting)

    # -- the person writes ------------------------------------------------------------------------
    async def reply(self, conversation_id: str, text: str, *, client_id: str, actor: DeskActor) -> Message:
        """Free text from the agent in charge, sent once per ``client_id`` (a double click sends once)."""
        text = clean_text(text).strip()
        if not text:
            raise DeskConflict("The reply is empty.")
        async with self._held(conversation_id) as conv:
            if conv.status is not ConversationStatus.HANDED_OFF or conv.assignee != actor.username:
                raise DeskConflict("Take the conversation over before you reply.")
            key = _REPLY_KEY + client_id
            if not await self._s.redis.set(key, conv.id, nx=True, ex=24 * 3600):
                raise DeskConflict("This reply was already sent.")
            try:
                msg = await self._s.deliverer.deliver(
                    conv.id,
                    text,
                    author_kind=AuthorKind.AGENT,
                    language=conv.language or "en",
                    causation_id=await self._reply_causation(conv.id),
                    author_id=actor.username,
                )
            except Exception:
                await self._s.redis.delete(key)
                raise
            await self._audit(actor, "inbox.replied", conv.id, {"message_id": msg.id})
            return msg

    async def _reply_causation(self, conversation_id: str) -> str | None:
        """Thread under the newest customer message unless a person already answered it (the
        deliverer sends one agent reply per causing message); then send unthreaded. A reply to it
        that was written but never went out (the channel failed) is reused, with the new text."""
        messages = await self._s.messages.list_messages(conversation_id)
        inbound = next((m for m in reversed(messages) if m.direction is Direction.INBOUND), None)
        if inbound is None:
            return None
        written = await self._s.outbox.reply_written(inbound.id, author_kind=AuthorKind.AGENT)
        if written is not None and (await self._s.messages.get_message(written)).external_id:
            return None  # answered and sent: this one goes out unthreaded
        return inbound.id

    async def add_note(self, conversation_id: str, text: str, *, actor: DeskActor) -> None:
        """An internal note: a timeline event only staff see (the status page hides NOTE_ADDED)."""
        text = clean_text(text).strip()
        if not text:
            raise DeskConflict("The note is empty.")
        if len(json.dumps({"by": actor.username, "text": text})) > _MAX_NOTE_JSON:
            raise DeskConflict("The note is too long; keep it under about 600 characters or split it.")
        async with self._held(conversation_id) as conv:
            await self._event(
                conv.id, EventType.NOTE_ADDED, None, {"by": actor.username, "text": text}, live={"by": actor.username}
            )
            await self._audit(actor, "inbox.note_added", conv.id, {"length": len(text)})

    async def correct_intent(self, message_id: str, intent: str, *, actor: DeskActor) -> str:
        """Label a customer message with the right intent (redacted text) for the retraining flow."""
        if intent not in known_intents():
            raise DeskConflict(f"Unknown intent {intent!r}; choose one of: {', '.join(known_intents())}.")
        msg = await self._s.messages.get_message(message_id)
        if msg.direction is not Direction.INBOUND or msg.author_kind is not AuthorKind.CUSTOMER:
            raise NotFound(f"message {message_id} is not a customer message")
        earlier = (await self.corrections(msg.conversation_id)).get(msg.id)
        if earlier is not None and earlier[1] == intent:
            return earlier[0]  # one-shot: a second click (or a retried request) stores no second row
        fid = await self._s.feedback.add(
            FeedbackKind.INTENT_CORRECTION.value,
            actor=actor.username,
            conversation_id=msg.conversation_id,
            message_id=msg.id,
            label=intent,
            text=self._redact(msg.text),
        )
        await self._audit(
            actor,
            "inbox.intent_corrected",
            msg.conversation_id,
            {"message_id": msg.id, "intent": intent, "feedback_id": fid},
        )
        await self._s.bus.publish(
            msg.conversation_id, {"event": "intent_corrected", "actor": ActorKind.HUMAN.value, "message_id": msg.id}
        )
        return fid

    async def corrections(self, conversation_id: str) -> dict[str, tuple[str, str]]:
        """The latest intent correction per customer message of the conversation: ``{message id: (feedback
        id, label)}``."""
        rows = await self._s.feedback.list(kind=FeedbackKind.INTENT_CORRECTION.value)
        return {
            str(r["message_id"]): (str(r["id"]), str(r["label"]))
            for r in rows
            if r.get("conversation_id") == conversation_id and r.get("message_id")
        }

    # -- helpers ----------------------------------------------------------------------------------
    async def _awaiting(self, conv: Conversation) -> DecisionRecord:
        record = pending_draft(await self._s.timeline.decisions_of(conv.id))
        if conv.status is not ConversationStatus.AWAITING_AGENT or record is None:
            raise DeskConflict(
                "There is no draft waiting for approval in this conversation "
                "(it was already approved, edited, rejected or taken over)."
            )
        return record

    async def _settle(
        self,
        record: DecisionRecord,
        state: DraftState,
        actor: DeskActor,
        *,
        outbound_message_id: str | None = None,
        reject_reason: str | None = None,
    ) -> None:
        facts = {**record.facts, "draft_state": state.value, "reviewed_by": actor.username}
        if reject_reason:
            facts["reject_reason"] = reject_reason
        update: dict[str, Any] = {"facts": facts}
        if state is not DraftState.REJECTED:
            update |= {
                "approved_by": actor.username,
                "approved_at": utcnow(),
                "outbound_message_id": outbound_message_id,
            }
        await self._s.timeline.save_decision(record.model_copy(update=update))

    async def _event(
        self,
        conversation_id: str,
        kind: EventType,
        causation_id: str | None,
        data: dict[str, Any],
        *,
        live: dict[str, Any] | None = None,
    ) -> None:
        event = TimelineEvent(
            conversation_id=conversation_id, type=kind, actor=ActorKind.HUMAN, causation_id=causation_id, data=data
        )
        await self._s.timeline.add_event(event)
        payload = {
            "event": kind.value,
            "actor": ActorKind.HUMAN.value,
            **(data if live is None else live),
            "at": event.occurred_at.isoformat(),
        }
        await self._s.bus.publish(conversation_id, payload)

    async def _audit(self, actor: DeskActor, action: str, object_id: str, data: dict[str, Any]) -> None:
        await self._s.audit.record(actor=actor.username, action=action, object_id=object_id, data=data)


def _intent_of(record: DecisionRecord) -> str | None:
    intent = record.facts.get("intent")
    return str(intent)[:128] if intent else None
