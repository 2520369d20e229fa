"""Render a channel-neutral OutboundMessage as an email reply (threaded, with the disclosure)."""

from __future__ import annotations

from channels.email import Mailbox, OutboundEmail
from conversation import EmailAddress, OutboundMessage, human_hint
from flows.settings import Settings

__all__ = ["render_email"]

_SUBJECT = {"de": "Ihre Anfrage", "en": "Your request"}
_STATUS = {"de": "Den Stand Ihrer Anfrage sehen Sie hier: {url}", "en": "See the status of your request: {url}"}


def render_email(out: OutboundMessage, settings: Settings, *, disclosure: str | None) -> OutboundEmail:
    assert isinstance(out.to, EmailAddress)
    lang = out.language if out.language in _SUBJECT else "en"
    subject = out.subject or _SUBJECT[lang]
    if not subject.lower().startswith(("re:", "aw:")) and out.in_reply_to:
        subject = f"Re: {subject}"
    lines = [out.text]
    if out.status_url:
        lines.append(_STATUS[lang].format(url=out.status_url))
    lines.append(human_hint(lang))
    return OutboundEmail(
        to=(Mailbox(address=out.to.address),),
        **{"from": Mailbox(address=settings.email_from, display_name="Glassdesk")},
        subject=subject.replace("\r", " ").replace("\n", " ")[:200],
        text="\n\n".join(lines),
        in_reply_to=out.in_reply_to if out.in_reply_to and not out.in_reply_to.startswith("sha256:") else None,
        references=tuple(r for r in out.references if r and not r.startswith("sha256:")),
        reply_token=out.reply_token,
        ai_generated=out.ai_generated,
        ai_disclosure=disclosure,
    )
