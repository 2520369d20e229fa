"""Delivery: store the outbound message, then send it through the outbox so it goes out once.

The never-send-twice discipline lives here and only here; every channel's ``ChannelSender`` renders
the channel-neutral ``OutboundMessage`` and raises only the core delivery errors::

    outbox_id = create(message)            # one entry per outbound message (idempotent)
    claim(outbox_id)                       # pending -> sending: exactly one attempt wins
    provider_id = sender.send(outbound)    # Transient -> release (pending, retried later)
                                           # Permanent -> failed, FAILED event (the caller
                                           #              hands the conversation to a person)
                                           # OutcomeUnknown -> stays sending: the callback or a
                                           #                   person settles it, never a resend
    mark_sent(outbox_id, provider_id)

A claim that is lost to another attempt reports the entry's real state, never "sent" for an entry
that is not. Pending entries are retried by the reconciler (:meth:`Deliverer.retry`), which gives up
after ``outbox_max_attempts`` (:meth:`Deliverer.give_up`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from conversation import (
    ActorKind,
    AuthorKind,
    ChannelKind,
    Conversation,
    DeliveryStatus,
    Direction,
    EventType,
    Message,
    OutboundMessage,
    OutboxState,
    OutcomeUnknown,
    PermanentDeliveryError,
    TimelineEvent,
    TransientDeliveryError,
    ai_disclosure,
)
from conversation.blobs import AttachmentFile, load_file
from conversation.errors import NotFound
from conversation.models import Attachment
from conversation.ports import BlobStore, ChannelSender, LiveBus, TimelineStore
from conversation.sql import SqlMessageStore, SqlOutboxStore

__all__ = ["Deliverer", "DeliveryTarget", "AttachmentSender"]

log = logging.getLogger("glassdesk.delivery")

_ADDRESS_KIND = {ChannelKind.EMAIL: "email", ChannelKind.SMS: "phone", ChannelKind.CHAT: "chat"}
# The chat widget shows a reply's stored attachments as download links (web/chat.py): its sender
# needs no bytes. Other channels need a sender that carries files (AttachmentSender) or refuse them.
_LINKED_ATTACHMENTS = frozenset({ChannelKind.CHAT})


@runtime_checkable
class AttachmentSender(Protocol):
    """A ``ChannelSender`` that can carry files (email: MIME parts)."""

    async def send_with_attachments(self, message: OutboundMessage, files: Sequence[AttachmentFile]) -> str: ...


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """Where links in replies point: the public base URL of the status pages."""

    public_url: str


class Deliverer:
    def __init__(
        self,
        *,
        messages: SqlMessageStore,
        outbox: SqlOutboxStore,
        timeline: TimelineStore,
        bus: LiveBus,
        senders: Mapping[ChannelKind, ChannelSender],
        target: DeliveryTarget,
        blobs: BlobStore | None = None,
    ) -> None:
        self._messages = messages
        self._outbox = outbox
        self._timeline = timeline
        self._bus = bus
        self._senders = dict(senders)
        self._target = target
        self._blobs = blobs

    def with_blobs(self, blobs: BlobStore) -> Deliverer:
        """This deliverer reading attachments from ``blobs`` (itself when it already does)."""
        if self._blobs is blobs:
            return self
        return Deliverer(
            messages=self._messages,
            outbox=self._outbox,
            timeline=self._timeline,
            bus=self._bus,
            senders=self._senders,
            target=self._target,
            blobs=blobs,
        )

    async def aclose(self) -> None:
        """Close the provider clients (the Twilio HTTP session)."""
        for sender in self._senders.values():
            await sender.aclose()

    # -- the one entry point ----------------------------------------------------------------------
    async def deliver(
        self,
        conversation_id: str,
        text: str,
        *,
        author_kind: AuthorKind,
        language: str,
        causation_id: str | None,
        approved_by: str | None = None,
        author_id: str | None = None,
        author_name: str | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> Message:
        """Write the reply (once per causing message and author kind) and send it once. ``attachments``
        (already in the blob store) go with it where the channel carries files.

        Raises ``TransientDeliveryError`` when the channel is down (the entry stays pending and is
        retried), ``PermanentDeliveryError`` when it refused the reply, ``OutcomeUnknown`` when the
        reply may have gone out and must not be resent."""
        conv = await self._messages.get_conversation(conversation_id)
        ai = author_kind is AuthorKind.AI
        disclosure = ai_disclosure(language, approved_by=approved_by) if ai else None
        msg = await self._already_written(causation_id, author_kind, text=text)
        if msg is not None and msg.text != text:
            # A retried person's action with new text (edited again after a failed send): the new text
            # goes out only if the old one never started going out.
            if not await self._messages.revise_unsent(msg.id, text):
                raise PermanentDeliveryError(
                    f"another reply to this message (message {msg.id}) is already sent or on its way; "
                    "send the new text as a separate reply"
                )
            msg = msg.model_copy(update={"text": text})
        if msg is not None and _files_of(msg.attachments) != _files_of(attachments):
            raise PermanentDeliveryError(
                f"another reply to this message (message {msg.id}) was written with other files; "
                "send these files as a separate reply"
            )
        if msg is None:  # else a retried step: reuse the row and its outbox, never a second send
            msg = await self._messages.append_message(
                conversation_id,
                text,
                direction=Direction.OUTBOUND,
                author_kind=author_kind,
                channel=conv.channel,
                author_id=author_id,
                attachments=attachments,
                meta={
                    "ai": ai,
                    "disclosure": disclosure,
                    "approved_by": approved_by,
                    "causation_id": causation_id,
                    "language": language,
                    "author_name": author_name,
                },
            )
        outbox_id = await self._outbox.create(msg.id, channel=conv.channel)
        await self._attempt(conv, msg, outbox_id)
        return msg

    async def retry(self, outbox_id: str) -> OutboxState:
        """Try a pending entry again (the reconciler's outbox pass). Returns the entry's state after."""
        entry = await self._outbox.get(outbox_id)
        msg = await self._messages.get_message(entry.message_id)
        conv = await self._messages.get_conversation(msg.conversation_id)
        try:
            await self._attempt(conv, msg, outbox_id)
        except (TransientDeliveryError, PermanentDeliveryError, OutcomeUnknown):
            pass  # recorded on the entry (and, when final, on the timeline)
        return (await self._outbox.get(outbox_id)).state

    async def give_up(self, outbox_id: str, *, reason: str) -> bool:
        """A pending entry that kept failing: failed for good, with its FAILED event. True if changed."""
        entry = await self._outbox.get(outbox_id)
        if not await self._outbox.fail_pending(outbox_id, reason=reason):
            return False
        msg = await self._messages.get_message(entry.message_id)
        await self._failed_event(msg, reason="delivery kept failing")
        return True

    # -- the outbox discipline --------------------------------------------------------------------
    async def _attempt(self, conv: Conversation, msg: Message, outbox_id: str) -> None:
        if not await self._outbox.claim(outbox_id):
            await self._report_claimed(outbox_id)
            return
        try:
            outbound = await self._outbound(conv, msg, outbox_id)
            sender = self._senders.get(conv.channel)
            if sender is None:
                raise PermanentDeliveryError(f"no sender is configured for the {conv.channel.value} channel")
        except PermanentDeliveryError as exc:
            await self._refused(outbox_id, msg, exc)
            raise
        except BaseException:
            await self._outbox.release(outbox_id)  # nothing reached a provider yet: try again later
            raise
        try:
            files = await self._files(conv, msg, sender)
        except PermanentDeliveryError as exc:
            await self._refused(outbox_id, msg, exc)
            raise
        except BaseException:
            await self._outbox.release(outbox_id)
            raise
        try:
            if files:
                assert isinstance(sender, AttachmentSender)
                provider_id = await sender.send_with_attachments(outbound, files)
            else:
                provider_id = await sender.send(outbound)
        except TransientDeliveryError:
            await self._outbox.release(outbox_id)
            raise
        except PermanentDeliveryError as exc:
            await self._refused(outbox_id, msg, exc)
            raise
        except OutcomeUnknown:
            # The request may have reached the provider. Releasing would risk a second send: the entry
            # stays `sending` until the status callback (which carries the outbox id) settles it, or the
            # reconciler hands it to a person.
            log.warning("outcome of outbox %s unknown; waiting for the provider's callback", outbox_id)
            raise
        except BaseException as exc:
            # Cancelled (shutdown, a timeout) or an error no adapter should leak, while the request may be
            # with the provider: treated as an unknown outcome, never as "nothing sent".
            log.error(
                "send of outbox %s interrupted (%s); left for the provider's callback or a person",
                outbox_id,
                type(exc).__name__,
            )
            raise
        await self._outbox.mark_sent(outbox_id, provider_id=provider_id)
        await self._messages.set_external_id(msg.id, provider_id)
        if sender.delivered_on_send:
            await self._messages.set_delivery_status(msg.id, DeliveryStatus.DELIVERED)
        ai = bool(msg.meta.get("ai"))
        approved = bool(msg.meta.get("approved_by"))
        if ai and not approved:
            actor = ActorKind.AI
        elif approved or msg.author_kind is AuthorKind.AGENT:
            actor = ActorKind.HUMAN
        else:
            actor = ActorKind.SYSTEM
        await self._event(
            conv.id,
            EventType.SENT,
            msg.meta.get("causation_id"),
            {"message_id": msg.id, "channel": conv.channel.value, "ai": ai, "approved": approved},
            actor=actor,
        )

    async def _files(self, conv: Conversation, msg: Message, sender: ChannelSender) -> list[AttachmentFile]:
        """The bytes of the reply's attachments for a sender that carries files; none for a channel that
        links them (chat). Raises ``PermanentDeliveryError`` for a channel that cannot carry them."""
        if not msg.attachments or conv.channel in _LINKED_ATTACHMENTS:
            return []
        if not isinstance(sender, AttachmentSender):
            raise PermanentDeliveryError(f"the {conv.channel.value} channel cannot carry attachments")
        if self._blobs is None:
            raise PermanentDeliveryError(
                "this reply has attachments but the deliverer has no blob store (runtime.compose passes it)"
            )
        try:
            return [await load_file(self._blobs, a) for a in msg.attachments]
        except NotFound as exc:
            raise PermanentDeliveryError(f"an attachment of message {msg.id} is gone from the blob store") from exc

    async def _refused(self, outbox_id: str, msg: Message, exc: PermanentDeliveryError) -> None:
        await self._outbox.mark_failed(outbox_id, reason=str(exc))
        await self._failed_event(msg, reason="delivery refused")

    async def _report_claimed(self, outbox_id: str) -> None:
        """Another attempt owns or finished this entry: say what really happened to it."""
        entry = await self._outbox.get(outbox_id)
        if entry.state is OutboxState.SENT:
            return
        if entry.state is OutboxState.FAILED:
            raise PermanentDeliveryError(
                f"the provider refused this reply before (outbox {outbox_id}); it will not be retried"
            )
        # sending (another attempt is on it, or its outcome is unknown) or ambiguous
        raise OutcomeUnknown(f"outbox {outbox_id} is {entry.state.value}: not sent again")

    async def _already_written(self, causation_id: str | None, author_kind: AuthorKind, *, text: str) -> Message | None:
        """The reply this step already stored (a retried step), found by an indexed lookup. System notices
        (a person takes over, a draft is reviewed) are different messages when their texts differ."""
        if causation_id is None:
            return None
        message_id = await self._outbox.reply_written(causation_id, author_kind=author_kind)
        if message_id is None:
            return None
        msg = await self._messages.get_message(message_id)
        if author_kind is AuthorKind.SYSTEM and msg.text != text:
            return None
        return msg

    async def _outbound(self, conv: Conversation, msg: Message, outbox_id: str) -> OutboundMessage:
        identities = await self._messages.identities_of(conv.contact_id)
        kind = _ADDRESS_KIND[conv.channel]
        address = next((i.address for i in reversed(identities) if i.address.kind == kind), None)
        if address is None:
            raise PermanentDeliveryError(f"conversation {conv.id} has no {kind} address to reply to")
        causation_id = msg.meta.get("causation_id")
        in_reply_to = None
        references: tuple[str, ...] = ()
        subject = None
        if conv.channel is ChannelKind.EMAIL and causation_id:
            inbound = await self._messages.get_message(causation_id)
            in_reply_to = inbound.meta.get("message_id") or inbound.external_id
            references = tuple(inbound.meta.get("references", ())) + ((in_reply_to,) if in_reply_to else ())
            subject = inbound.meta.get("subject")
        return OutboundMessage(
            conversation_id=conv.id,
            message_id=msg.id,
            outbox_id=outbox_id,
            channel=conv.channel,
            to=address,
            text=msg.text,
            language=str(msg.meta.get("language") or conv.language or "en"),
            ai_generated=bool(msg.meta.get("ai")),
            status_url=f"{self._target.public_url.rstrip('/')}/status/{conv.status_token}",
            reply_token=conv.reply_token,
            in_reply_to=in_reply_to,
            references=references[-20:],
            subject=subject,
            approved_by=msg.meta.get("approved_by"),
            author_name=msg.meta.get("author_name"),
            author_kind=msg.author_kind,
            ticket_number=await self._messages.ticket_number(conv.id) if conv.channel is ChannelKind.EMAIL else None,
        )

    async def _failed_event(self, msg: Message, *, reason: str) -> None:
        await self._event(
            msg.conversation_id,
            EventType.FAILED,
            msg.meta.get("causation_id"),
            {"message_id": msg.id, "reason": reason},
        )

    async def _event(
        self,
        conversation_id: str,
        kind: EventType,
        causation_id: str | None,
        data: dict[str, Any],
        *,
        actor: ActorKind = ActorKind.SYSTEM,
    ) -> None:
        event = TimelineEvent(
            conversation_id=conversation_id, type=kind, actor=actor, causation_id=causation_id, data=data
        )
        await self._timeline.add_event(event)
        try:
            await self._bus.publish(
                conversation_id,
                {"event": kind.value, "actor": actor.value, **data, "at": event.occurred_at.isoformat()},
            )
        except Exception as exc:  # noqa: BLE001 - live updates are best effort; the timeline row is stored
            log.warning("live update for %s not published: %s", conversation_id, type(exc).__name__)


def _files_of(attachments: tuple[Attachment, ...]) -> list[tuple[str, str]]:
    return [(a.filename, a.sha256) for a in attachments]
