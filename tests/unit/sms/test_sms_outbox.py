"""send_once: the outbox discipline over the OutboxStore port (fakes, no sockets)."""

from __future__ import annotations

import pytest

from channels.sms import (
    SendOutcomeUnknown,
    SendState,
    SmsPermanentError,
    SmsTransientError,
    render_outbound,
    send_once,
    status_callback_url,
)
from conversation import ChannelKind, OutboundMessage, OutboxState, PhoneAddress, ai_disclosure
from conversation.fakes import FakeOutboxStore


class FakeSmsSender:
    """Records what it sent; raises the queued errors first."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[OutboundMessage] = []

    async def send(self, msg: OutboundMessage) -> str:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(msg)
        return f"SM{len(self.sent):032x}"


async def _message(outbox: FakeOutboxStore, **extra: object) -> OutboundMessage:
    oid = await outbox.create("msg_1", channel=ChannelKind.SMS)
    fields = dict(conversation_id="cv_1", message_id="msg_1", outbox_id=oid, channel=ChannelKind.SMS,
                  to=PhoneAddress(number="+4915112345678"), text="Ihr Paket ist unterwegs.", language="de",
                  ai_generated=True)
    fields.update(extra)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


async def test_sends_once_and_records_the_sid() -> None:
    outbox, sender = FakeOutboxStore(), FakeSmsSender()
    msg = await _message(outbox)
    first = await send_once(outbox, sender, msg)
    again = await send_once(outbox, sender, msg)
    assert first.state is SendState.SENT and again.state is SendState.ALREADY_CLAIMED
    assert len(sender.sent) == 1
    entry = await outbox.get(msg.outbox_id)
    assert entry.state is OutboxState.SENT and entry.provider_id == first.provider_id


async def test_transient_error_releases_for_a_retry() -> None:
    outbox, sender = FakeOutboxStore(), FakeSmsSender(SmsTransientError("429", status=429, code=20429))
    msg = await _message(outbox)
    with pytest.raises(SmsTransientError):
        await send_once(outbox, sender, msg)
    assert (await outbox.get(msg.outbox_id)).state is OutboxState.PENDING
    assert (await send_once(outbox, sender, msg)).state is SendState.SENT


async def test_permanent_error_fails_the_entry() -> None:
    outbox, sender = FakeOutboxStore(), FakeSmsSender(SmsPermanentError("21211", status=400, code=21211))
    msg = await _message(outbox)
    assert (await send_once(outbox, sender, msg)).state is SendState.FAILED
    assert (await outbox.get(msg.outbox_id)).state is OutboxState.FAILED
    assert (await send_once(outbox, sender, msg)).state is SendState.ALREADY_CLAIMED and sender.sent == []


async def test_unknown_outcome_stays_sending_and_is_never_resent() -> None:
    outbox, sender = FakeOutboxStore(), FakeSmsSender(SendOutcomeUnknown("timeout"))
    msg = await _message(outbox)
    assert (await send_once(outbox, sender, msg)).state is SendState.UNKNOWN
    assert (await outbox.get(msg.outbox_id)).state is OutboxState.SENDING
    assert (await send_once(outbox, sender, msg)).state is SendState.ALREADY_CLAIMED and sender.sent == []


async def test_rendered_reply_carries_disclosure_and_link() -> None:
    outbox = FakeOutboxStore()
    msg = await _message(outbox, status_url="https://desk.example.com/s/tok")
    body = render_outbound(msg, max_segments=10).body
    assert body.splitlines() == [ai_disclosure("de"), "Ihr Paket ist unterwegs.", "https://desk.example.com/s/tok"]
    human = msg.model_copy(update={"ai_generated": False, "status_url": None})
    assert render_outbound(human, max_segments=10).body == "Ihr Paket ist unterwegs."


def test_status_callback_url_carries_the_outbox_id() -> None:
    assert status_callback_url("https://desk.example.com/", "ob_1 2") == (
        "https://desk.example.com/webhooks/twilio/status?outbox=ob_1%202"
    )
