"""Delivery: store the outbound message, then send it through the outbox so it goes out once.

Each channel adapter renders the channel-neutral OutboundMessage (SMS segments and disclosure line,
email text+HTML with headers, chat frames over Redis pub/sub)."""

from __future__ import annotations

import logging
from typing import Any

from conversation import (
    ActorKind,
    AuthorKind,
    ChannelKind,
    DeliveryStatus,
    Direction,
    EmailAddress,
    EventType,
    Message,
    OutboundMessage,
    OutboxState,
    PermanentDeliveryError,
    TimelineEvent,
    TransientDeliveryError,
    ai_disclosure,
)
from channels.sms import SendOutcomeUnknown
from flows.bootstrap import Services

__all__ = ["Deliverer"]

log = logging.getLogger("glassdesk.delivery")


class Deliverer:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._sms: Any = None
        self._email: Any = None

    # -- adapters, built on first use -------------------------------------------------------------
    def sms_sender(self) -> Any:
        if self._sms is None:
            from channels.sms import SmsSenderConfig, TwilioSmsSender

            st = self._s.settings
            self._sms = TwilioSmsSender(SmsSenderConfig(
                account_sid=st.twilio_account_sid,
                auth_token=st.twilio_auth_token,
                from_number=st.twilio_from_number,
                public_url=st.public_url,
                max_segments=st.sms_max_segments,
                api_base=st.twilio_api_base,
            ))
        return self._sms

    def email_sender(self) -> Any:
        if self._email is None:
            from channels.email import EmailSender, RelaySettings

            st = self._s.settings
            self._email = EmailSender(
                RelaySettings(
                    host=st.relay_host,
                    port=st.relay_port,
                    starttls=st.relay_starttls,
                    username=st.relay_username,
                    password=st.relay_password,
                    message_id_domain=st.email_domain,
                )
            )
        return self._email

    async def aclose(self) -> None:
        """Close the provider clients this deliverer opened (the Twilio HTTP session)."""
        if self._sms is not None:
            sms, self._sms = self._sms, None
            await sms.aclose()

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
    ) -> Message:
        s = self._s
        conv = await s.messages.get_conversation(conversation_id)
        ai = author_kind is AuthorKind.AI
        disclosure = ai_disclosure(language, approved_by=approved_by) if ai else None
        msg = await self._already_written(causation_id, author_kind)
        if msg is not None and msg.text != text:
            # A retried person's action with new text (edited again after a failed send): the new text
            # goes out only if the old one never started going out.
            if not await s.messages.revise_unsent(msg.id, text):
                raise PermanentDeliveryError(
                    f"another reply to this message (message {msg.id}) is already sent or on its way; "
                    "send the new text as a separate reply")
            msg = msg.model_copy(update={"text": text})
        if msg is None:  # else a retried step: reuse the row and its outbox, never a second send
            msg = await s.messages.append_message(
                conversation_id,
                text,
                direction=Direction.OUTBOUND,
                author_kind=author_kind,
                channel=conv.channel,
                author_id=author_id,
                meta={"ai": ai, "disclosure": disclosure, "approved_by": approved_by, "causation_id": causation_id},
            )
        outbox_id = await s.outbox.create(msg.id, channel=conv.channel)
        if not await s.outbox.claim(outbox_id):
            if (await s.outbox.get(outbox_id)).state is OutboxState.FAILED:
                raise PermanentDeliveryError(
                    f"the provider refused this reply before (outbox {outbox_id}); it will not be retried")
            log.warning("outbox %s already claimed; not sending again", outbox_id)
            return msg
        outbound = await self._outbound(conv, msg, outbox_id, language=language, ai=ai, causation_id=causation_id)
        try:
            provider_id = await self._send(outbound, disclosure=disclosure, approved_by=approved_by)
        except SendOutcomeUnknown:
            # The request may have reached the provider. Releasing would risk a second send: the entry
            # stays `sending` until the status callback (which carries the outbox id) settles it.
            log.warning("outcome of outbox %s unknown; waiting for the provider's callback", outbox_id)
            return msg
        except TransientDeliveryError:
            await s.outbox.release(outbox_id)
            raise
        except PermanentDeliveryError as exc:
            await s.outbox.mark_failed(outbox_id, reason=str(exc))
            await self._event(conversation_id, EventType.FAILED, causation_id,
                              {"message_id": msg.id, "reason": "delivery refused"})
            raise
        await s.outbox.mark_sent(outbox_id, provider_id=provider_id)
        await s.messages.set_external_id(msg.id, provider_id)
        if ai and not approved_by:
            actor = ActorKind.AI
        elif approved_by or author_kind is AuthorKind.AGENT:
            actor = ActorKind.HUMAN
        else:
            actor = ActorKind.SYSTEM
        await self._event(conversation_id, EventType.SENT, causation_id,
                          {"message_id": msg.id, "channel": conv.channel.value, "ai": ai, "approved": bool(approved_by)},
                          actor=actor)
        return msg

    async def _already_written(self, causation_id: str | None, author_kind: AuthorKind) -> Message | None:
        """The reply this turn step already stored (a retried step), found by an indexed lookup."""
        if causation_id is None:
            return None
        message_id = await self._s.outbox.reply_written(causation_id, author_kind=author_kind)
        return await self._s.messages.get_message(message_id) if message_id is not None else None

    async def _outbound(self, conv: Any, msg: Message, outbox_id: str, *, language: str, ai: bool,
                        causation_id: str | None) -> OutboundMessage:
        s = self._s
        identities = await s.messages.identities_of(conv.contact_id)
        kind = {ChannelKind.EMAIL: "email", ChannelKind.SMS: "phone", ChannelKind.CHAT: "chat"}[conv.channel]
        address = next((i.address for i in reversed(identities) if i.address.kind == kind), None)
        if address is None:
            raise PermanentDeliveryError(f"conversation {conv.id} has no {kind} address to reply to")
        in_reply_to = None
        references: tuple[str, ...] = ()
        subject = None
        if conv.channel is ChannelKind.EMAIL and causation_id:
            inbound = await s.messages.get_message(causation_id)
            in_reply_to = inbound.external_id
            references = tuple(inbound.meta.get("references", ())) + ((inbound.external_id,) if inbound.external_id else ())
            subject = inbound.meta.get("subject")
        return OutboundMessage(
            conversation_id=conv.id,
            message_id=msg.id,
            outbox_id=outbox_id,
            channel=conv.channel,
            to=address,
            text=msg.text,
            language=language,
            ai_generated=ai,
            status_url=f"{s.settings.public_url.rstrip('/')}/status/{conv.status_token}",
            reply_token=conv.reply_token,
            in_reply_to=in_reply_to,
            references=references[-20:],
            subject=subject,
        )

    async def _send(self, out: OutboundMessage, *, disclosure: str | None, approved_by: str | None) -> str:
        if out.channel is ChannelKind.SMS:
            return await self.sms_sender().send(out)
        if out.channel is ChannelKind.EMAIL:
            from flows.email_out import render_email

            assert isinstance(out.to, EmailAddress)
            return await self.email_sender().send(render_email(out, self._s.settings, disclosure=disclosure))
        from channels.chat import chat_reply_payload

        await self._s.bus.publish(out.conversation_id, chat_reply_payload(out))
        # pushed to every open socket of the conversation; the history on reconnect shows it too
        await self._s.messages.set_delivery_status(out.message_id, DeliveryStatus.DELIVERED)
        return f"chat:{out.message_id}"

    async def _event(self, conversation_id: str, kind: EventType, causation_id: str | None, data: dict[str, Any], *,
                     actor: ActorKind = ActorKind.SYSTEM) -> None:
        event = TimelineEvent(conversation_id=conversation_id, type=kind, actor=actor, causation_id=causation_id, data=data)
        await self._s.timeline.add_event(event)
        await self._s.bus.publish(conversation_id, {"event": kind.value, "actor": actor.value, **data,
                                                    "at": event.occurred_at.isoformat()})
