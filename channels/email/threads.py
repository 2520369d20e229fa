"""Reply tokens and thread keys: what the store may use to attach a reply to a conversation.

A reply token travels in a plus-address (``support+<token>@domain``) and a subject tag
(``[#GD-<token>]``). The subject alone never identifies a thread.

The readable ticket number (``[GD-10042]``, :func:`ticket_tag`) rides in the subject of every email we
send, so a customer who writes a new email and quotes it reaches the same conversation. Ticket numbers
are sequential and public: :func:`thread_keys` extracts the number, and the ingest accepts it only from
the conversation's own contact (``services.email_ingest``).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Collection, Iterable

from channels.email.addresses import split_plus_address
from channels.email.models import ParsedEmail, ThreadKeys, TokenSource

__all__ = ["make_reply_token", "subject_tag", "ticket_tag", "thread_keys", "REPLY_TOKEN_PATTERN"]

# 80 random bits, base32 lower-case: survives MTAs and clients that change the case of local parts.
REPLY_TOKEN_PATTERN = r"[a-z2-7]{16}"
_TOKEN = re.compile(rf"^{REPLY_TOKEN_PATTERN}$")
_SUBJECT_TAG = re.compile(rf"\[#GD-({REPLY_TOKEN_PATTERN})\]", re.IGNORECASE)
_TICKET_TAG = re.compile(r"\[\s*GD-(\d{5,12})\s*\]", re.IGNORECASE)


def make_reply_token() -> str:
    """A new random reply token (16 characters of ``[a-z2-7]``)."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()


def subject_tag(token: str) -> str:
    """The subject tag for ``token``: ``[#GD-<token>]``."""
    if not _TOKEN.match(token):
        raise ValueError(f"not a reply token: {token!r} (expected 16 characters of a-z, 2-7)")
    return f"[#GD-{token}]"


def ticket_tag(ticket_number: int) -> str:
    """The subject tag customers quote: ``[GD-10042]``."""
    if not isinstance(ticket_number, int) or isinstance(ticket_number, bool) or not 0 < ticket_number < 10**12:
        raise ValueError(f"not a ticket number: {ticket_number!r} (expected a positive whole number)")
    return f"[GD-{ticket_number}]"


def _ticket_from_subject(subject: str) -> int | None:
    """The last ``[GD-nnnnn]`` in the subject (a forwarded thread keeps the newest tag at the end)."""
    found = _TICKET_TAG.findall(subject)
    return int(found[-1]) if found else None


def _token_from_addresses(addresses: Iterable[str], our_domains: Collection[str]) -> str | None:
    domains = {d.lower() for d in our_domains}
    for address in addresses:
        _base, tag, domain = split_plus_address(address)
        if tag is None or (domains and domain not in domains):
            continue
        tag = tag.lower()
        if _TOKEN.match(tag):
            return tag
    return None


def thread_keys(
    parsed: ParsedEmail,
    *,
    envelope_recipients: Iterable[str] = (),
    our_domains: Collection[str] = (),
) -> ThreadKeys:
    """Extract In-Reply-To, References and a reply token (plus-address first, then subject tag).

    ``envelope_recipients`` are the SMTP RCPT TO addresses (they survive Bcc and forwarding);
    ``our_domains``, when given, restricts plus-address tokens to our own domains.
    """
    addresses = [*envelope_recipients, *(m.address for m in (*parsed.to, *parsed.cc))]
    token = _token_from_addresses(addresses, our_domains)
    source: TokenSource | None = TokenSource.PLUS_ADDRESS if token else None
    if token is None:
        match = _SUBJECT_TAG.search(parsed.subject)
        if match:
            token, source = match.group(1).lower(), TokenSource.SUBJECT_TAG
    return ThreadKeys(
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        reply_token=token,
        reply_token_source=source,
        ticket_number=_ticket_from_subject(parsed.subject),
    )
