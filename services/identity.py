"""Link an email address or phone number to a chat by a one-time code, and merge on that proof only.

One Contact per person, one ChannelIdentity per address. A chat session is anonymous; typing an
address proves nothing (ChatterMate GHSA-rfh4-6ghv-m2rr). :meth:`IdentityVerifier.start` sends a
6-digit code to the claimed address through the channel's own sender (a system message: it is never
stored in the conversation); :meth:`IdentityVerifier.confirm` checks it and, on success only, merges
the chat's contact into the contact that owns the address (or gives the chat's contact the address
when nobody owns it), records the merge, an audit entry and a timeline event.

The same path verifies an email sender (:mod:`services.email_verification`): the code goes to the
email conversation's own address, and confirming it marks that identity verified (nothing to merge).

The code lives in Redis only as an HMAC (keyed by the app secret), with a 10-minute TTL and 5 attempts;
after the 5th wrong code the entry is locked until it expires. Starts are rate-limited per conversation
and per address. Logs carry ids and channel kinds, never the address or the code.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from conversation import (
    ActorKind,
    ChannelKind,
    EmailAddress,
    EventType,
    OutboundMessage,
    PhoneAddress,
    TimelineEvent,
    address_key,
    new_id,
)
from services.container import Container

__all__ = [
    "IdentityVerifier",
    "VerifyOutcome",
    "VerifyResult",
    "CODE_TTL_S",
    "MAX_ATTEMPTS",
    "STARTS_PER_CONVERSATION",
    "STARTS_PER_ADDRESS",
    "ACTOR",
]

log = logging.getLogger("glassdesk.identity")

CODE_TTL_S = 600  # a code is valid for 10 minutes
MAX_ATTEMPTS = 5  # wrong codes before the entry locks (until its TTL ends)
STARTS_PER_CONVERSATION = 3  # codes one conversation may ask for per START_WINDOW_S
START_WINDOW_S = 600
STARTS_PER_ADDRESS = 5  # codes one address may receive per hour, whoever asks (SMS pumping, mail bombing)
ADDRESS_WINDOW_S = 3600
ACTOR = "system:identity-otp"
_KEY = "gd:otp:"

_TEXT = {
    "en": "Your Glassdesk verification code is {code}. It is valid for 10 minutes. "
    "If you did not ask for it, ignore this message.",
    "de": "Ihr Glassdesk-Bestätigungscode lautet {code}. Er ist 10 Minuten gültig. "
    "Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese Nachricht.",
}
_SUBJECT = {"en": "Your verification code", "de": "Ihr Bestätigungscode"}


@enum.unique
class VerifyOutcome(enum.StrEnum):
    CODE_SENT = "code_sent"
    VERIFIED = "verified"
    WRONG_CODE = "wrong_code"
    LOCKED = "locked"  # too many wrong codes: no code works until the entry expires
    NO_CODE = "no_code"  # none pending: never asked, expired, or already used
    RATE_LIMITED = "rate_limited"
    SEND_FAILED = "send_failed"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    outcome: VerifyOutcome
    kind: str | None = None  # "email" | "phone"
    attempts_left: int | None = None
    merged: bool = False  # VERIFIED: another contact owned the address and the chat was merged into it


class IdentityVerifier:
    """``start`` sends a code to a claimed address; ``confirm`` checks it and links/merges."""

    def __init__(self, services: Container) -> None:
        self._s = services

    # -- 1. send a code ------------------------------------------------------------------------------
    async def start(
        self,
        conversation_id: str,
        address: EmailAddress | PhoneAddress,
        *,
        language: str = "en",
        status_url: str | None = None,
        reply_token: str | None = None,
    ) -> VerifyResult:
        """Send a new code to ``address`` for this conversation (a new code replaces the old one).
        ``status_url``: the customer's status page, where the code can be entered, and ``reply_token``:
        the conversation's, so a reply to the code email joins it (email only)."""
        s = self._s
        kind = address.kind
        key = _KEY + conversation_id
        if int(await s.redis.hget(key, "attempts") or 0) >= MAX_ATTEMPTS:
            return VerifyResult(VerifyOutcome.LOCKED, kind, attempts_left=0)
        await s.messages.get_conversation(conversation_id)  # NotFound for an unknown conversation
        secret = await self._secret()
        address_tag = _mac(secret, f"addr:{kind}:{address_key(address)}")[:32]
        if not (
            await s.limiter.allow(
                f"identity:start:{conversation_id}", limit=STARTS_PER_CONVERSATION, window_s=START_WINDOW_S
            )
            and await s.limiter.allow(
                f"identity:addr:{address_tag}", limit=STARTS_PER_ADDRESS, window_s=ADDRESS_WINDOW_S
            )
        ):
            log.info("identity code for conversation %s refused: rate limit", conversation_id)
            return VerifyResult(VerifyOutcome.RATE_LIMITED, kind)
        code = f"{secrets.randbelow(1_000_000):06d}"
        async with s.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(
                key,
                mapping={
                    "h": _code_mac(secret, conversation_id, address, code),
                    "kind": kind,
                    "addr": address_key(address),
                    "attempts": 0,
                },
            )
            pipe.expire(key, CODE_TTL_S)
            await pipe.execute()
        lang = language if language in _TEXT else "en"
        try:
            await self._send(
                conversation_id,
                address,
                _TEXT[lang].format(code=code),
                language=lang,
                status_url=status_url,
                reply_token=reply_token,
            )
        except Exception as exc:  # noqa: BLE001 - any sender failure: the code is void, the customer may retry
            await s.redis.delete(key)
            log.warning(
                "identity code for conversation %s not sent by %s: %s", conversation_id, kind, type(exc).__name__
            )  # the exception text may name the address: not logged
            return VerifyResult(VerifyOutcome.SEND_FAILED, kind)
        await s.audit.record(actor=ACTOR, action="identity.code_sent", object_id=conversation_id, data={"kind": kind})
        log.info("identity code sent for conversation %s by %s", conversation_id, kind)
        return VerifyResult(VerifyOutcome.CODE_SENT, kind, attempts_left=MAX_ATTEMPTS)

    async def _send(
        self,
        conversation_id: str,
        address: EmailAddress | PhoneAddress,
        text: str,
        *,
        language: str,
        status_url: str | None = None,
        reply_token: str | None = None,
    ) -> None:
        """Through the same channel senders that deliver replies; nothing is stored."""
        channel = ChannelKind.SMS if isinstance(address, PhoneAddress) else ChannelKind.EMAIL
        await self._s.senders[channel].send(
            OutboundMessage(
                conversation_id=conversation_id,
                message_id=new_id("otp"),
                outbox_id=new_id("otp"),
                channel=channel,
                to=address,
                text=text,
                language=language,
                ai_generated=False,
                subject=_SUBJECT[language] if channel is ChannelKind.EMAIL else None,
                status_url=status_url if channel is ChannelKind.EMAIL else None,
                reply_token=reply_token if channel is ChannelKind.EMAIL else None,
            )
        )

    async def has_pending(self, conversation_id: str) -> bool:
        """A code was sent for this conversation and is neither used nor expired."""
        return bool(await self._s.redis.hexists(_KEY + conversation_id, "h"))

    # -- 2. check it -----------------------------------------------------------------------------------
    async def confirm(self, conversation_id: str, code: str) -> VerifyResult:
        """Check ``code`` (constant time); on success link the address to the conversation's contact."""
        s = self._s
        key = _KEY + conversation_id
        async with s.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "attempts", 1)
            pipe.hgetall(key)
            attempts, entry = await pipe.execute()
        if "h" not in entry:  # expired (or never asked): HINCRBY just made a stray key
            await s.redis.delete(key)
            return VerifyResult(VerifyOutcome.NO_CODE)
        kind = entry.get("kind")
        if int(attempts) > MAX_ATTEMPTS:
            return VerifyResult(VerifyOutcome.LOCKED, kind, attempts_left=0)
        address = _address(kind, entry.get("addr", ""))
        secret = await self._secret()
        if not hmac.compare_digest(entry["h"], _code_mac(secret, conversation_id, address, code)):
            left = MAX_ATTEMPTS - int(attempts)
            log.info("identity code for conversation %s wrong (%d left)", conversation_id, left)
            return VerifyResult(
                VerifyOutcome.LOCKED if left <= 0 else VerifyOutcome.WRONG_CODE, kind, attempts_left=left
            )
        if not await s.redis.delete(key):  # a concurrent confirm used it first
            return VerifyResult(VerifyOutcome.NO_CODE, kind)
        merged = await self._link(conversation_id, address)
        return VerifyResult(VerifyOutcome.VERIFIED, kind, merged=merged)

    async def _link(self, conversation_id: str, address: EmailAddress | PhoneAddress) -> bool:
        """Merge the chat's contact into the address's owner, or give it the (new) address. True: merged."""
        s = self._s
        conv = await s.messages.get_conversation(conversation_id)
        chat_contact = conv.contact_id
        owner = await s.messages.ensure_identity(chat_contact, address, verified=True)
        merged = owner.contact_id != chat_contact
        if merged:
            await s.messages.merge_contacts(
                chat_contact,
                owner.contact_id,
                evidence=f"one-time code sent to the {address.kind} address, entered in conversation {conversation_id}",
                actor=ACTOR,
                proven=address,
            )
        into = owner.contact_id
        await s.audit.record(
            actor=ACTOR,
            action="identity.merged" if merged else "identity.verified",
            object_id=into,
            data={
                "conversation_id": conversation_id,
                "kind": address.kind,
                "from_contact_id": chat_contact,
                "into_contact_id": into,
                "identity_id": owner.id,
            },
        )
        event = TimelineEvent(
            conversation_id=conversation_id,
            type=EventType.IDENTITY_VERIFIED,
            actor=ActorKind.SYSTEM,
            data={"kind": address.kind, "merged": merged},
        )
        await s.timeline.add_event(event)
        await s.bus.publish(
            conversation_id,
            {"event": event.type.value, "actor": event.actor.value, **event.data, "at": event.occurred_at.isoformat()},
        )
        log.info(
            "identity %s verified for conversation %s (%s)", owner.id, conversation_id, "merged" if merged else "linked"
        )
        return merged

    async def _secret(self) -> bytes:
        key = await asyncio.to_thread(self._s.settings.secret_key)  # may read var/secret.key once
        return hashlib.sha256(b"glassdesk-otp:" + key.encode()).digest()


def _mac(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def _code_mac(secret: bytes, conversation_id: str, address: EmailAddress | PhoneAddress, code: str) -> str:
    return _mac(secret, f"code:{conversation_id}:{address.kind}:{address_key(address)}:{code}")


def _address(kind: str | None, value: str) -> EmailAddress | PhoneAddress:
    return EmailAddress(address=value) if kind == "email" else PhoneAddress(number=value)
