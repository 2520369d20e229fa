"""Verify an email sender by a one-time code, on the same code path as chat (:mod:`services.identity`).

A From header is only a claim: anyone can write it. The code travels in an email we send to the
conversation's address, so only the mailbox owner reads it; a forged From never receives it. Entering
it on the conversation's status page (or in a reply that quotes it, :meth:`confirm_in_reply`) proves
receipt and marks that email identity verified. From then on the turn treats the sender like a
verified phone number: back-office look-ups run and drafts may use them (``flows.steps._customer``).

Codes: 6 digits, 10 minutes, single use, 5 attempts, kept in Redis only as an HMAC, never logged
(all of it :class:`services.identity.IdentityVerifier`).

What an unverified email sender may get: answers from the knowledge articles only; no order,
contract or claim data is read for them; a reported claim becomes a draft that a person reviews.
"""

from __future__ import annotations

import re

from conversation import ChannelKind, Conversation, EmailAddress
from services.container import Container
from services.identity import IdentityVerifier, VerifyOutcome, VerifyResult

__all__ = ["EmailVerification", "NotAnEmailConversation"]

_CODE_IN_TEXT = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class NotAnEmailConversation(ValueError):
    """The conversation is not on email, or has no email address to send the code to."""


class EmailVerification:
    def __init__(self, services: Container) -> None:
        self._s = services
        self._verifier = IdentityVerifier(services)

    async def address_of(self, conversation: Conversation) -> EmailAddress:
        """The address replies of this conversation go to (the delivery rule: the contact's latest email)."""
        if conversation.channel is not ChannelKind.EMAIL:
            raise NotAnEmailConversation(
                f"conversation {conversation.id} is on {conversation.channel.value}, not email"
            )
        identities = await self._s.messages.identities_of(conversation.contact_id)
        address = next((i.address for i in reversed(identities) if isinstance(i.address, EmailAddress)), None)
        if address is None:
            raise NotAnEmailConversation(f"conversation {conversation.id} has no email address")
        return address

    async def is_verified(self, conversation: Conversation) -> bool:
        address = await self.address_of(conversation)
        ident = await self._s.messages.find_identity(address)
        return ident is not None and ident.verified

    async def start(self, conversation_id: str) -> VerifyResult:
        """Email a new code to the conversation's address, with the link to its status page."""
        conv = await self._s.messages.get_conversation(conversation_id)
        address = await self.address_of(conv)
        base = self._s.settings.public_url.rstrip("/")
        return await self._verifier.start(
            conv.id,
            address,
            language=conv.language or "en",
            status_url=f"{base}/status/{conv.status_token}",
            reply_token=conv.reply_token,
        )

    async def confirm(self, conversation_id: str, code: str) -> VerifyResult:
        """Check a code typed by the customer (status page). VERIFIED marks the email identity verified."""
        code = code.strip()
        if not _CODE_IN_TEXT.fullmatch(code):
            return VerifyResult(VerifyOutcome.WRONG_CODE, "email")
        return await self._verifier.confirm(conversation_id, code)

    async def confirm_in_reply(self, conversation_id: str, text: str) -> VerifyResult | None:
        """A reply that quotes the code proves receipt too. None: no code pending or none in the text
        (nothing is counted as an attempt then). Call it before the turn decides who the customer is."""
        if not await self._verifier.has_pending(conversation_id):
            return None
        own = "\n".join(line for line in text[:4000].splitlines() if not line.lstrip().startswith(">"))
        match = _CODE_IN_TEXT.search(own) or _CODE_IN_TEXT.search(text[:4000])  # typed first, else quoted
        if match is None:
            return None
        return await self._verifier.confirm(conversation_id, match.group(1))
