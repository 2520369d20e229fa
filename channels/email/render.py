"""Render a channel-neutral OutboundMessage as an email reply: threaded, subject kept, the
disclosure for AI-written replies, the status link, and the agent's first name on human replies."""

from __future__ import annotations

from channels.email.addresses import Mailbox
from channels.email.sender import OutboundEmail
from conversation import EmailAddress, OutboundMessage, PermanentDeliveryError, ai_disclosure, human_hint

__all__ = ["render_email"]

_SUBJECT = {"de": "Ihre Anfrage", "en": "Your request"}
_STATUS = {"de": "Den Stand Ihrer Anfrage sehen Sie hier: {url}", "en": "See the status of your request: {url}"}
_SIGN = {"de": "Viele Grüße\n{name}", "en": "Kind regards,\n{name}"}


def render_email(out: OutboundMessage, *, from_address: str, from_name: str = "Glassdesk") -> OutboundEmail:
    """The email for ``out``. Raises ``PermanentDeliveryError`` when it is not addressed to an email."""
    if not isinstance(out.to, EmailAddress):
        raise PermanentDeliveryError(f"message {out.message_id} is not addressed to an email address")
    lang = out.language if out.language in _SUBJECT else "en"
    subject = out.subject or _SUBJECT[lang]
    if not subject.lower().startswith(("re:", "aw:")) and out.in_reply_to:
        subject = f"Re: {subject}"
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
        subject=subject.replace("\r", " ").replace("\n", " ")[:200],
        text="\n\n".join(lines),
        in_reply_to=out.in_reply_to if out.in_reply_to and not out.in_reply_to.startswith("sha256:") else None,
        references=tuple(r for r in out.references if r and not r.startswith("sha256:")),
        reply_token=out.reply_token,
        ai_generated=out.ai_generated,
        ai_disclosure=ai_disclosure(out.language, approved_by=out.approved_by) if out.ai_generated else None,
    )
