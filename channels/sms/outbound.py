"""The outbox discipline for SMS: never send twice, even across a crash.

The caller (a flow task) owns the steps; :func:`send_once` is the reference implementation::

    outbox_id = await outbox.create(message_id, channel=ChannelKind.SMS)   # idempotent per message
    msg = OutboundMessage(..., outbox_id=outbox_id)
    if await outbox.claim(outbox_id):                 # pending -> sending; exactly one winner
        sid = await sender.send(msg)                  # StatusCallback URL carries ?outbox=<id>
        await outbox.mark_sent(outbox_id, provider_id=sid)

Outcomes of ``sender.send``:
- ``SmsPermanentError``  -> ``mark_failed``; do not retry.
- ``SmsTransientError``  -> ``release`` (back to pending) and retry later: nothing reached Twilio, or
  Twilio said 429/5xx.
- ``SendOutcomeUnknown`` -> leave the entry ``sending``. The status callback
  (``POST /webhooks/twilio/status?outbox=<id>``) moves it to ``sent`` with the MessageSid; what is
  still ``sending`` after a while goes to ``ambiguous`` for a human, never to a blind resend.
- A crash after Twilio accepted but before ``mark_sent``: same as above; a retry of the step finds
  ``claim() == False`` and sends nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from conversation.errors import PermanentDeliveryError, TransientDeliveryError
from conversation.models import OutboundMessage
from conversation.ports import OutboxStore
from channels.sms.errors import SendOutcomeUnknown

__all__ = ["SmsSender", "SendResult", "SendState", "send_once"]


class SmsSender(Protocol):
    async def send(self, msg: OutboundMessage) -> str: ...


@enum.unique
class SendState(enum.StrEnum):
    SENT = "sent"  # sent now; ``provider_id`` holds the MessageSid
    ALREADY_CLAIMED = "already_claimed"  # another attempt owns or finished it: nothing sent now
    FAILED = "failed"  # permanently refused
    UNKNOWN = "unknown"  # left in ``sending`` for the status callback to settle


@dataclass(frozen=True, slots=True)
class SendResult:
    state: SendState
    provider_id: str | None = None
    reason: str = ""


async def send_once(outbox: OutboxStore, sender: SmsSender, msg: OutboundMessage) -> SendResult:
    """Claim, send, record. Re-raises retryable errors after releasing the claim."""
    if not await outbox.claim(msg.outbox_id):
        return SendResult(SendState.ALREADY_CLAIMED)
    try:
        sid = await sender.send(msg)
    except SendOutcomeUnknown as exc:
        return SendResult(SendState.UNKNOWN, reason=str(exc))
    except PermanentDeliveryError as exc:
        await outbox.mark_failed(msg.outbox_id, reason=str(exc))
        return SendResult(SendState.FAILED, reason=str(exc))
    except TransientDeliveryError:
        await outbox.release(msg.outbox_id)
        raise
    await outbox.mark_sent(msg.outbox_id, provider_id=sid)
    return SendResult(SendState.SENT, provider_id=sid)
