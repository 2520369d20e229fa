"""Render a channel-neutral OutboundMessage as an email reply: threaded, subject kept, the
disclosure for AI-written replies, the status link, and the agent's first name on human replies.

Every subject carries the conversation's ticket number, the one customers quote:
``Re: <subject> [GD-10042]`` (:func:`reply_subject`). A customer who writes a new email with it in the
subject reaches the same conversation (``services.email_ingest``, only from the same sender)."""

from __future__ import annotations

import re
from typing import Any

from channels.email.addresses import Mailbox
from channels.email.sender import OutboundEmail
from channels.email.threads import ticket_tag
from conversation import EmailAddress, OutboundMessage, PermanentDeliveryError, ai_disclosure, human_hint

__all__ = ["render_email", "reply_subject"]

_SUBJECT = {"de": "Ihre Anfrage", "en": "Your request"}
_STATUS = {"de": "Den Stand Ihrer Anfrage sehen Sie hier: {url}", "en": "See the status of your request: {url}"}
_SIGN = {"de": "Viele Grüße\n{name}", "en": "Kind regards,\n{name}"}
_ANY_TICKET = re.compile(r"\s*\[\s*GD-\d{5,12}\s*\]", re.IGNORECASE)
_MAX_SUBJECT = 200


def reply_subject(subject: str | None, *, language: str, is_reply: bool, ticket_number: int | None) -> str:
    """The subject of an email we send: the customer's subject (or "Your request" in their language),
    ``Re:`` on a reply, and the ticket tag at the end, once. A ticket tag the customer's subject already
    carried (ours, or another ticket's they quoted) is replaced by this conversation's. Shortened from
    the subject's end so the tag is never cut off; no line breaks."""
    lang = language if language in _SUBJECT else "en"
    text = " ".join((subject or "").replace("\r", " ").replace("\n", " ").split())
    if ticket_number is not None:
        text = _ANY_TICKET.sub("", text).strip()
    text = text or _SUBJECT[lang]
    if is_reply and not text.lower().startswith(("re:", "aw:")):
        text = f"Re: {text}"
    if ticket_number is None:
        return text[:_MAX_SUBJECT]
    tag = ticket_tag(ticket_number)
    return f"{text[: _MAX_SUBJECT - len(tag) - 1].rstrip()} {tag}"


def _ticket_number(out: OutboundMessage) -> int | None:
    # OutboundMessage.ticket_number (conversations.ticket_number, filled by services.delivery);
    # read defensively so a message model without the field still renders (no tag then).
    value: Any = getattr(out, "ticket_number", None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def render_email(out: OutboundMessage, *, from_address: str, from_name: str = "Glassdesk") -> OutboundEmail:
    """The email for ``out``. Raises ``PermanentDeliveryError`` when it is not addressed to an email."""
    if not isinstance(out.to, EmailAddress):
        raise PermanentDeliveryError(f"message {out.message_id} is not addressed to an email address")
    lang = out.language if out.language in _SUBJECT else "en"
    subject = reply_subject(
        out.subject, language=lang, is_reply=bool(out.in_reply_to), ticket_number=_ticket_number(out)
    )
    lines = [out.text]
    if not out.ai_generated and out.author_name:
        lines.append(_SIGN[lang].format(name=out.author_name))
    if out.status_url:
        lines.append(_STATUS[lang].format(url=out.status_url))
    if out.ai_generated:
        # A person is one request away from an AI reply; a person's own reply needs no such line.
        lines.append(human_hint(lang))
    return OutboundEmail(
        to=(Mailbox(address=out.to.address),),
        **{"from": Mailbox(address=from_address, display_name=from_name)},
        subject=subject,
        text="\n\n".join(lines),
        in_reply_to=out.in_reply_to if out.in_reply_to and not out.in_reply_to.startswith("sha256:") else None,
        references=tuple(r for r in out.references if r and not r.startswith("sha256:")),
        reply_token=out.reply_token,
        ai_generated=out.ai_generated,
        ai_disclosure=ai_disclosure(out.language, approved_by=out.approved_by) if out.ai_generated else None,
    )
