"""Email in: the SMTP server's callback persists every accepted message before the 250.

Parse defensively; thread through our own Message-IDs (In-Reply-To / References), then the reply
token (plus-address or subject tag), then the ticket number the customer quotes (``[GD-10042]`` in the
subject), never the subject text alone. What cannot be used is kept in quarantine with its reason, and
ops sees it.

The ticket number is public and sequential: anyone can write ``[GD-10042]`` into a subject. It joins
that conversation only when the sender's address is an email identity of the conversation's contact,
and only an email conversation that is not closed (a closed one is over: the next message starts a
new conversation, and one conversation has one channel). Otherwise the tag is ignored and the email
threads as if it had none (the sender's own open conversation, or a new one): a stranger's email must
never land in someone else's conversation, where agents and the automation would answer it with that
customer's data, and it must not tell the stranger whether the number exists."""

from __future__ import annotations

import asyncio
import hashlib
import logging

from sqlalchemy import select

from channels.email import (
    ParsedEmail,
    parse_email,
    thread_keys,
)
from conversation import Attachment, ChannelKind, EmailAddress, InboundMessage, InboundParseError, StoreUnavailable
from conversation.addresses import address_key
from conversation.enums import ConversationStatus
from conversation.sql import schema as t
from services.container import Container
from services.ingest import Ingestor

__all__ = ["EmailIngest", "dedupe_key"]

log = logging.getLogger("glassdesk.email")


def dedupe_key(parsed: ParsedEmail) -> str:
    """The inbound dedupe key: the Message-ID plus a digest of what the message says.

    A relay's redelivery of the same message has the same sender, subject, body and attachments, so it
    is still deduplicated, even with other Received headers. A different message that reuses a
    Message-ID (broken clients, mail merges) gets its own key and is stored, never dropped."""
    digest = hashlib.sha256()
    for part in (
        parsed.from_.address if parsed.from_ else "",
        parsed.subject,
        parsed.full_text or parsed.text or "",
        *sorted(a.sha256 for a in parsed.attachments),
    ):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    if not parsed.message_id:
        return f"sha256:{parsed.raw_sha256}"
    return f"{parsed.message_id[:900]}#{digest.hexdigest()[:24]}"


class EmailIngest:
    def __init__(self, services: Container) -> None:
        self._s = services
        self._ingestor = Ingestor(services)

    async def __call__(self, envelope_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        try:
            await self.accept(rcpt_tos, raw)
        except (StoreUnavailable, OSError, ConnectionError) as exc:
            raise StoreUnavailable(f"store unavailable: {type(exc).__name__}") from exc

    async def accept(self, rcpt_tos: list[str], raw: bytes) -> str:
        """Persist one raw message; returns the message id or the quarantine id."""
        try:
            parsed = await asyncio.to_thread(parse_email, raw)
        except InboundParseError as exc:
            return await self._quarantine(raw, reason=getattr(exc, "reason", "unparseable"), detail=str(exc))
        if parsed.quarantine_reason is not None:
            return await self._quarantine(
                raw, reason=str(parsed.quarantine_reason), detail=parsed.quarantine_detail or ""
            )
        if parsed.from_ is None:
            return await self._quarantine(raw, reason="no_sender", detail="no usable From address")
        if parsed.auto_submitted:
            return await self._quarantine(raw, reason="auto_submitted", detail="auto-reply or bulk mail; not answered")
        inbound = InboundMessage(
            channel=ChannelKind.EMAIL,
            external_id=dedupe_key(parsed),
            address=EmailAddress(address=parsed.from_.address),
            display_name=(parsed.from_.display_name or None) and parsed.from_.display_name[:200],
            text=(parsed.text or parsed.full_text or "(no text)")[:100_000],
            attachments=await self._attachments(parsed),
            conversation_id=await self._thread(parsed, rcpt_tos),
            meta={
                "subject": parsed.subject[:300],
                "message_id": parsed.message_id,
                "references": list(parsed.references[-20:]),
                "in_reply_to": parsed.in_reply_to,
                "quoted_removed": parsed.quoted_removed,
                "raw_blob": await self._s.blobs.put(raw, content_type="message/rfc822"),
            },
        )
        result = await self._ingestor.accept(inbound)
        return result.message.id

    async def _thread(self, parsed: ParsedEmail, rcpt_tos: list[str]) -> str | None:
        keys = thread_keys(parsed, envelope_recipients=rcpt_tos, our_domains=(self._s.settings.email_domain,))
        for mid in [keys.in_reply_to, *reversed(keys.references)]:
            if mid:
                ours = await self._s.messages.find_email_by_message_id(mid)
                if ours is not None:
                    return ours.conversation_id
        if keys.reply_token:
            conv = await self._s.messages.find_conversation(reply_token=keys.reply_token)
            if conv is not None:
                return conv.id
        if keys.ticket_number is not None and parsed.from_ is not None:
            return await self._ticket_conversation(keys.ticket_number, sender=parsed.from_.address)
        return None

    async def _ticket_conversation(self, ticket_number: int, *, sender: str) -> str | None:
        """The email conversation with this ticket number, when ``sender`` is its contact's address."""
        c = t.conversations.c
        async with self._s.db.read() as conn:
            row = (
                await conn.execute(
                    select(c.id, c.contact_id).where(
                        c.ticket_number == ticket_number,
                        c.channel == ChannelKind.EMAIL.value,
                        c.status != ConversationStatus.CLOSED.value,
                    )
                )
            ).first()
        if row is None:
            return None
        wanted = address_key(EmailAddress(address=sender))
        for ident in await self._s.messages.identities_of(row.contact_id):
            if isinstance(ident.address, EmailAddress) and address_key(ident.address) == wanted:
                return str(row.id)
        log.info("ticket tag in an email from another sender ignored (conversation %s)", row.id)
        return None

    async def _attachments(self, parsed: ParsedEmail) -> tuple[Attachment, ...]:
        out = []
        for a in parsed.attachments:
            if not a.kept:
                continue
            key = await self._s.blobs.put(a.data, content_type=a.content_type)
            out.append(
                Attachment(
                    filename=a.filename, content_type=a.content_type[:255], size=a.size, sha256=a.sha256, blob_key=key
                )
            )
        return tuple(out)

    async def _quarantine(self, raw: bytes, *, reason: str, detail: str) -> str:
        key = await self._s.blobs.put(raw, content_type="message/rfc822")
        qid = await self._s.quarantine.add(channel="email", reason=reason, detail=detail, blob_key=key)
        await self._s.audit.record(actor="system", action="email.quarantined", object_id=qid, data={"reason": reason})
        await self._s.redis.publish("gd:live:all", '{"event": "quarantined", "channel": "email"}')
        log.warning("email quarantined as %s (%s)", qid, reason)
        return qid
