"""The agent desk: what a person does to a conversation, each action checked against its state.

Every action holds the conversation's lock, writes a timeline event as ``ActorKind.HUMAN``, records
feedback and an audit entry, and publishes a live update (ids and kinds only). Sending goes through
:class:`services.delivery.Deliverer`, so the outbox guarantees one send per reply:

- approve: the AI draft unchanged, as AI-authored (the disclosure says who checked it);
- send edited: the agent's version, as agent-authored; the draft and the edit become feedback;
- reject: a reason code from a closed list; the conversation goes to the rejecting agent;
- take over / hand back: the person or the automation is in charge;
- reply: free text from the agent in charge; note: internal, never shown to the customer;
- intent correction: feedback for retraining (the message text redacted);
- lifecycle: open, pending (waiting on the customer), snoozed until a time, resolved, closed. A customer
  message reopens pending, resolved and snoozed (a database trigger, migration 0007_desk); a snooze
  also ends when its time passes. Pending and resolved stop the SLA clock. Resolve opens an outcome
  row and asks the customer on their channel whether it is solved and for a rating (services.outcomes);
- assignment: to an agent, or to a queue (which leaves it unassigned there);
- canned replies: admins keep them (de, en), agents insert them with {name}, {order_number}, {ticket};
- collision notice: who else has the conversation open right now (Redis, heartbeats, ids only).
"""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conversation import (
    ActorKind,
    AuthorKind,
    ChannelKind,
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
from conversation.blobs import store_file
from conversation.handoff_reasons import HandoffReason
from conversation.sql.desk import DeskQueries, DeskState, ticket_label
from conversation.sql.desk_store import CannedReply, DeskStore
from services.assignment import assign_waiting
from services.container import Container
from services.outcomes import Outcomes, record_handoff
from services.sla import refresh_clock

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
    "DeskState",
    "fill_canned",
    "CANNED_VARIABLES",
    "ASSIGNABLE_ROLES",
    "ReplyFile",
]

_REPLY_KEY = "gd:desk:reply:"
_VIEWING_KEY = "gd:desk:viewing:"  # sorted set: username -> last heartbeat (epoch seconds)
_VIEWING_TTL_S = 45.0
_LOCK_WAIT_S = 5.0
_MAX_NOTE_JSON = 4000  # timeline event data is small (conversation.models.MAX_EVENT_DATA)

# C0/C1 control characters except tab and newline, and the bidirectional overrides/isolates that
# can make text read differently from what it is (Trojan Source).
_QUEUE = re.compile(r"[\w.-]{1,64}")
_MAX_SNOOZE = timedelta(days=90)
ASSIGNABLE_ROLES = ("agent", "admin")
CANNED_VARIABLES = ("name", "order_number", "ticket")
_VARIABLE = re.compile(r"\{([a-z_]+)\}")
_ORDER = re.compile(r"(?<![\w-])(\d{5,8})(?![\w-])")
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(text: str) -> str:
    """Text safe to store and to show: no control characters, no bidi overrides, NFC, \\n newlines."""
    return _UNSAFE.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))


@dataclass(frozen=True, slots=True)
class ReplyFile:
    """A file an agent attaches to a reply, as uploaded (the web layer bounds its size)."""

    filename: str
    content_type: str
    content: bytes


_FILE_CHANNELS = frozenset({ChannelKind.EMAIL, ChannelKind.CHAT})  # SMS: text only (no MMS media URLs)
_DECLARABLE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


def _declared_type(f: ReplyFile) -> str:
    """The uploaded type when it is a plain ``type/subtype``; else the generic one."""
    value = f.content_type.split(";", 1)[0].strip().lower()
    return value if _DECLARABLE.match(value) else "application/octet-stream"


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
            await refresh_clock(self._s.db, conv.id, settings=self._s.settings)  # the first response is met
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
            await refresh_clock(self._s.db, conv.id, settings=self._s.settings)
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
            if conv.status is not ConversationStatus.HANDED_OFF:  # the automation had it: why a person has it now
                await record_handoff(
                    self._s, conv.id, HandoffReason.AGENT_TOOK_OVER, causation_id=None, queue=conv.queue
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
    async def reply(
        self,
        conversation_id: str,
        text: str,
        *,
        client_id: str,
        actor: DeskActor,
        files: Sequence[ReplyFile] = (),
    ) -> Message:
        """Free text from the agent in charge, sent once per ``client_id`` (a double click sends once).
        ``files`` go with email and chat replies (stored in the blob store, metadata on the message);
        SMS replies carry text only and are refused with files."""
        text = clean_text(text).strip()
        if not text:
            raise DeskConflict("The reply is empty.")
        settings = self._s.settings
        if len(files) > settings.attachment_max_files:
            raise DeskConflict(f"Attach at most {settings.attachment_max_files} files to one reply.")
        for f in files:
            if len(f.content) > settings.attachment_max_bytes:
                raise DeskConflict(
                    f"{f.filename} is {len(f.content)} bytes; files may have up to {settings.attachment_max_bytes}."
                )
        async with self._held(conversation_id) as conv:
            if conv.status is not ConversationStatus.HANDED_OFF or conv.assignee != actor.username:
                raise DeskConflict("Take the conversation over before you reply.")
            if files and conv.channel not in _FILE_CHANNELS:
                raise DeskConflict(
                    f"{conv.channel.value.upper()} replies carry text only: remove the files, or send them by "
                    "email or chat."
                )
            key = _REPLY_KEY + client_id
            if not await self._s.redis.set(key, conv.id, nx=True, ex=24 * 3600):
                raise DeskConflict("This reply was already sent.")
            try:
                attachments = tuple(
                    [
                        await store_file(self._s.blobs, f.content, filename=f.filename, content_type=_declared_type(f))
                        for f in files
                    ]
                )
                deliverer = self._s.deliverer.with_blobs(self._s.blobs) if attachments else self._s.deliverer
                msg = await deliverer.deliver(
                    conv.id,
                    text,
                    author_kind=AuthorKind.AGENT,
                    language=conv.language or "en",
                    causation_id=await self._reply_causation(conv.id),
                    author_id=actor.username,
                    attachments=attachments,
                )
            except Exception:
                await self._s.redis.delete(key)
                raise
            await refresh_clock(self._s.db, conv.id, settings=self._s.settings)  # a human reply stops the wait
            await self._audit(
                actor, "inbox.replied", conv.id, {"message_id": msg.id, "attachments": len(msg.attachments)}
            )
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

    # -- lifecycle --------------------------------------------------------------------------------
    async def set_state(
        self,
        conversation_id: str,
        state: DeskState,
        *,
        actor: DeskActor,
        snoozed_until: datetime | None = None,
    ) -> DeskState:
        """Resolve, set pending, snooze, reopen or close; returns the state before. Audited."""
        now = utcnow()
        if state is DeskState.SNOOZED:
            if snoozed_until is None or snoozed_until <= now:
                raise DeskConflict("Choose a snooze time in the future.")
            if snoozed_until - now > _MAX_SNOOZE:
                raise DeskConflict("Snooze for at most 90 days; set the conversation pending instead.")
        async with self._held(conversation_id) as conv:
            current = await self._state(conv.id)
            if current is DeskState.CLOSED:
                raise DeskConflict("This conversation is closed; the customer's next message starts a new one.")
            if current is state and state is not DeskState.SNOOZED:
                raise DeskConflict(f"This conversation is already {state.value}.")
            if state is not DeskState.OPEN and conv.status is ConversationStatus.AWAITING_AGENT:
                raise DeskConflict("A draft waits for approval here: approve, edit or reject it first.")
            change = await self._store.set_state(conv.id, state, snoozed_until=snoozed_until, now=now)
            data: dict[str, Any] = {"from": change.before.value, "to": state.value}
            if snoozed_until is not None and state is DeskState.SNOOZED:
                data["until"] = snoozed_until.isoformat()
            await self._audit(actor, "inbox.state_changed", conv.id, data)
            if state is DeskState.RESOLVED:  # one outcome row, and the survey on the customer's channel
                await Outcomes(self._s).on_resolved(conv.id, resolved_by=actor.username)
            await self._s.bus.publish(
                conv.id, {"event": "desk_state_changed", "actor": ActorKind.HUMAN.value, "state": state.value}
            )
            if state in (DeskState.RESOLVED, DeskState.CLOSED):  # a place freed: the queue's next waiting one
                await assign_waiting(self._s)
            return change.before

    async def _state(self, conversation_id: str) -> DeskState:
        row = await DeskQueries(self._s.db).row(conversation_id)
        if row is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return row.desk_state

    # -- assignment -------------------------------------------------------------------------------
    async def assign(self, conversation_id: str, username: str, *, actor: DeskActor) -> None:
        """Give the conversation to an agent (an admin counts). A conversation the automation has goes
        to a person with it; a draft waiting for approval stays waiting, now for that agent."""
        user = await self._s.users.by_username(username)
        if user is None or user.role not in ASSIGNABLE_ROLES:
            raise DeskConflict(f"There is no agent called {username!r}.")
        async with self._held(conversation_id) as conv:
            if conv.status is ConversationStatus.CLOSED:
                raise DeskConflict("This conversation is closed.")
            if conv.assignee == user.username:
                raise DeskConflict(f"This conversation is already assigned to {user.username}.")
            status = ConversationStatus.HANDED_OFF if conv.status is ConversationStatus.OPEN else None
            await self._store.assign(conv.id, assignee=user.username, status=status)
            await self._audit(actor, "inbox.assigned", conv.id, {"from": conv.assignee or "", "to": user.username})
            await self._s.bus.publish(
                conv.id, {"event": "assigned", "actor": ActorKind.HUMAN.value, "to": user.username}
            )

    async def move_to_queue(self, conversation_id: str, queue: str, *, actor: DeskActor) -> None:
        """Move the conversation to another queue, unassigned there (anyone of that queue takes it)."""
        queue = queue.strip()
        if not _QUEUE.fullmatch(queue):
            raise DeskConflict("A queue name is 1 to 64 letters, digits, '.', '-' or '_'.")
        async with self._held(conversation_id) as conv:
            if conv.status is ConversationStatus.CLOSED:
                raise DeskConflict("This conversation is closed.")
            if (conv.queue or "general") == queue:
                raise DeskConflict(f"This conversation is already in the {queue} queue.")
            status = ConversationStatus.HANDED_OFF if conv.status is ConversationStatus.OPEN else None
            await self._store.assign(conv.id, assignee=None, queue=queue, status=status)
            await self._audit(
                actor, "inbox.moved", conv.id, {"from": conv.queue or "general", "to": queue, "assignee": ""}
            )
            await self._s.bus.publish(conv.id, {"event": "moved", "actor": ActorKind.HUMAN.value, "queue": queue})

    # -- collision notice -------------------------------------------------------------------------
    async def viewing(self, conversation_id: str, *, actor: DeskActor) -> list[str]:
        """Note that ``actor`` has the conversation open (the page calls this every 15 s) and return the
        other agents who have it open now, so two people do not answer the same customer."""
        conv = await self._s.messages.get_conversation(conversation_id)
        key = _VIEWING_KEY + conv.id
        now = utcnow().timestamp()
        pipe = self._s.redis.pipeline(transaction=True)
        pipe.zadd(key, {actor.username: now})
        pipe.zremrangebyscore(key, "-inf", now - _VIEWING_TTL_S)
        pipe.zrange(key, 0, -1)
        pipe.expire(key, int(_VIEWING_TTL_S) * 2)
        result = await pipe.execute()
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in result[2]]
        return sorted(n for n in names if n != actor.username)

    # -- canned replies ---------------------------------------------------------------------------
    async def save_canned(
        self, *, title: str, language: str, text: str, actor: DeskActor, reply_id: str | None = None
    ) -> str:
        """Create or change a canned reply (admins). Unknown {variables} are refused with the list."""
        from sqlalchemy.exc import IntegrityError

        title, text = clean_text(title).strip(), clean_text(text).strip()
        if not title or not text:
            raise DeskConflict("A canned reply needs a title and a text.")
        if language not in ("de", "en"):
            raise DeskConflict("Canned replies are in de or en.")
        unknown = sorted({v for v in _VARIABLE.findall(text) if v not in CANNED_VARIABLES})
        if unknown:
            raise DeskConflict(
                f"Unknown variable(s) {', '.join('{' + v + '}' for v in unknown)}; "
                f"use {', '.join('{' + v + '}' for v in CANNED_VARIABLES)}."
            )
        try:
            rid = await self._store.save_canned_reply(
                title=title, language=language, text=text, updated_by=actor.username, reply_id=reply_id
            )
        except IntegrityError:
            raise DeskConflict(f"A canned reply {title!r} in {language} exists already; change that one.") from None
        await self._audit(actor, "inbox.canned_saved", rid, {"language": language, "created": reply_id is None})
        return rid

    async def delete_canned(self, reply_id: str, *, actor: DeskActor) -> None:
        await self._store.delete_canned_reply(reply_id)
        await self._audit(actor, "inbox.canned_deleted", reply_id, {})

    async def canned_for(self, conversation_id: str) -> list[tuple[CannedReply, str]]:
        """Every canned reply in the conversation's language (English when there is none), each with its
        text filled in for this conversation."""
        conv = await self._s.messages.get_conversation(conversation_id)
        language = conv.language if conv.language in ("de", "en") else "en"
        replies = await self._store.canned_replies(language=language)
        if not replies:
            return []
        contact = await self._s.messages.contact_for(conv.id)
        values = {
            "name": clean_text(contact.display_name or "").strip(),
            "order_number": await self._order_number(conv.id),
            "ticket": ticket_label(await self._store.ticket_number(conv.id)),
        }
        return [(r, fill_canned(r.text, values)) for r in replies]

    async def _order_number(self, conversation_id: str) -> str:
        """The order or claim number the customer quoted last (5 to 8 digits), or ''."""
        for m in reversed(await self._s.messages.list_messages(conversation_id)):
            if m.author_kind is AuthorKind.CUSTOMER:
                found = _ORDER.findall(m.text)
                if found:
                    return str(found[-1])
        return ""

    @property
    def _store(self) -> DeskStore:
        return DeskStore(self._s.db)

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


def fill_canned(text: str, values: dict[str, str]) -> str:
    """``text`` with each known {variable} replaced; a variable without a value stays visible as
    ``{variable}`` so the agent sees what to fill in before sending."""

    def sub(m: re.Match[str]) -> str:
        return values.get(m.group(1)) or m.group(0)

    return _VARIABLE.sub(sub, text)
