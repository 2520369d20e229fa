"""Email in: the SMTP server's callback persists every accepted message before the 250.

Parse defensively; thread through our own Message-IDs (In-Reply-To / References), then the reply
token (plus-address or subject tag), never the subject alone. What cannot be used is kept in
quarantine with its reason, and ops sees it."""

from __future__ import annotations

import asyncio
import logging
import ssl

from channels.email import (
    InboundParseError,
    ParsedEmail,
    SmtpLimits,
    TransientError,
    parse_email,
    start_smtp_server,
    thread_keys,
)
from conversation import Attachment, ChannelKind, EmailAddress, InboundMessage, StoreUnavailable
from flows.bootstrap import Services, open_services
from flows.ingest import Ingestor
from flows.settings import Settings, configure_logging

__all__ = ["EmailIngest", "serve_smtp"]

log = logging.getLogger("glassdesk.email")


class EmailIngest:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._ingestor = Ingestor(services)

    async def __call__(self, envelope_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        try:
            await self.accept(rcpt_tos, raw)
        except (StoreUnavailable, OSError, ConnectionError) as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    async def accept(self, rcpt_tos: list[str], raw: bytes) -> str:
        """Persist one raw message; returns the message id or the quarantine id."""
        try:
            parsed = await asyncio.to_thread(parse_email, raw)
        except InboundParseError as exc:
            return await self._quarantine(raw, reason=getattr(exc, "reason", "unparseable"), detail=str(exc))
        if parsed.quarantine_reason is not None:
            return await self._quarantine(raw, reason=str(parsed.quarantine_reason), detail=parsed.quarantine_detail or "")
        if parsed.from_ is None:
            return await self._quarantine(raw, reason="no_sender", detail="no usable From address")
        if parsed.auto_submitted:
            return await self._quarantine(raw, reason="auto_submitted", detail="auto-reply or bulk mail; not answered")
        inbound = InboundMessage(
            channel=ChannelKind.EMAIL,
            external_id=parsed.message_id or f"sha256:{parsed.raw_sha256}",
            address=EmailAddress(address=parsed.from_.address),
            display_name=(parsed.from_.display_name or None) and parsed.from_.display_name[:200],
            text=(parsed.text or parsed.full_text or "(no text)")[:100_000],
            attachments=await self._attachments(parsed),
            conversation_id=await self._thread(parsed, rcpt_tos),
            meta={
                "subject": parsed.subject[:300],
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
                ours = await self._s.messages.find_message_by_external_id(ChannelKind.EMAIL, mid)
                if ours is not None:
                    return ours.conversation_id
        if keys.reply_token:
            conv = await self._s.messages.find_conversation(reply_token=keys.reply_token)
            if conv is not None:
                return conv.id
        return None

    async def _attachments(self, parsed: ParsedEmail) -> tuple[Attachment, ...]:
        out = []
        for a in parsed.attachments:
            if not a.kept:
                continue
            key = await self._s.blobs.put(a.data, content_type=a.content_type)
            out.append(Attachment(filename=a.filename, content_type=a.content_type[:255], size=a.size,
                                  sha256=a.sha256, blob_key=key))
        return tuple(out)

    async def _quarantine(self, raw: bytes, *, reason: str, detail: str) -> str:
        key = await self._s.blobs.put(raw, content_type="message/rfc822")
        qid = await self._s.quarantine.add(channel="email", reason=reason, detail=detail, blob_key=key)
        await self._s.audit.record(actor="system", action="email.quarantined", object_id=qid, data={"reason": reason})
        await self._s.redis.publish("gd:live:all", '{"event": "quarantined", "channel": "email"}')
        log.warning("email quarantined as %s (%s)", qid, reason)
        return qid


async def serve_smtp(settings: Settings, stop: asyncio.Event) -> None:
    configure_logging(settings)
    tls = None
    if settings.smtp_tls_cert and settings.smtp_tls_key:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key)
    users = None
    if settings.smtp_auth_users:
        pairs = [p.split(":", 1) for p in settings.smtp_auth_users.get_secret_value().split(",") if ":" in p]
        users = {u.strip(): pw for u, pw in pairs}
    async with open_services(settings) as services:
        server = await start_smtp_server(
            host=settings.smtp_host,
            port=settings.smtp_port,
            handler_callback=EmailIngest(services),
            limits=SmtpLimits(
                data_size_limit=settings.smtp_max_bytes,
                idle_timeout=settings.smtp_idle_timeout_s,
                session_deadline=settings.smtp_session_deadline_s,
                max_recipients=settings.smtp_max_recipients,
            ),
            tls_context=tls,
            require_starttls=settings.smtp_require_starttls,
            auth_users=users,
        )
        log.info("SMTP server on %s:%d", settings.smtp_host, settings.smtp_port)
        try:
            await stop.wait()
        finally:
            await server.aclose()
