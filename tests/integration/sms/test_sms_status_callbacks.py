"""POST /webhooks/twilio/status?outbox=<id>: signed, monotonic, reconciles a crash, never regresses."""

from __future__ import annotations

import random

import pytest

from conversation import AuthorKind, ChannelKind, DeliveryStatus, Direction, OutboxState
from tests.integration.sms.conftest import EXAMPLE_FORM, SMS_PATH, STATUS_PATH, Harness
from tests.support.twilio_api import DEFAULT_SID

SID = "SM" + "1" * 32


async def _outbound(harness: Harness, *, sent: bool = True) -> tuple[str, str]:
    """An inbound SMS, our outbound reply and its outbox entry (claimed; sent with SID unless told)."""
    assert (await harness.post_form(SMS_PATH, EXAMPLE_FORM)).status_code == 200
    inbound = await harness.services.messages.find_message_by_external_id(ChannelKind.SMS, EXAMPLE_FORM["MessageSid"])
    assert inbound is not None
    reply = await harness.services.messages.append_message(
        inbound.conversation_id,
        "Your parcel is on its way.",
        direction=Direction.OUTBOUND,
        author_kind=AuthorKind.AI,
        channel=ChannelKind.SMS,
    )
    outbox_id = await harness.services.outbox.create(reply.id, channel=ChannelKind.SMS)
    assert await harness.services.outbox.claim(outbox_id)
    if sent:
        await harness.services.outbox.mark_sent(outbox_id, provider_id=SID)
    return reply.id, outbox_id


def _callback(status: str, sid: str = SID) -> dict[str, str]:
    return {
        "AccountSid": DEFAULT_SID,
        "ApiVersion": "2010-04-01",
        "From": "+15558675310",
        "To": "+15017122661",
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
    }


async def _status_of(harness: Harness, message_id: str) -> DeliveryStatus | None:
    return (await harness.services.messages.get_message(message_id)).delivery_status


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (["sent", "delivered"], DeliveryStatus.DELIVERED),
        (["delivered", "sent"], DeliveryStatus.DELIVERED),
        (["sent", "delivered", "failed"], DeliveryStatus.DELIVERED),
        (["delivered", "delivered", "undelivered", "sending", "queued"], DeliveryStatus.DELIVERED),
        (["undelivered", "sent", "delivered"], DeliveryStatus.UNDELIVERED),
        (["sent", "delivered", "read"], DeliveryStatus.READ),
        (["queued", "sending", "sent", "sending"], DeliveryStatus.SENT),
        (["sent", "some_future_status"], DeliveryStatus.SENT),
    ],
)
async def test_final_status_follows_the_state_machine(
    harness: Harness, sequence: list[str], final: DeliveryStatus
) -> None:
    message_id, outbox_id = await _outbound(harness)
    for status in sequence:
        resp = await harness.post_form(STATUS_PATH, _callback(status), query=f"outbox={outbox_id}")
        assert resp.status_code == 200, resp.text
    assert await _status_of(harness, message_id) is final


async def test_shuffled_and_duplicated_callbacks_end_delivered(harness: Harness) -> None:
    message_id, outbox_id = await _outbound(harness)
    callbacks = ["queued", "sending", "sent", "delivered"] * 3
    random.Random(7).shuffle(callbacks)
    for status in callbacks:
        assert (await harness.post_form(STATUS_PATH, _callback(status), query=f"outbox={outbox_id}")).status_code == 200
    assert await _status_of(harness, message_id) is DeliveryStatus.DELIVERED
    entry = await harness.services.outbox.get(outbox_id)
    assert entry.state is OutboxState.SENT and entry.provider_id == SID and entry.attempts == 1


@pytest.mark.parametrize("variant", ["missing", "wrong_token", "other_outbox_in_url"])
async def test_unsigned_or_forged_status_callback_is_403(harness: Harness, variant: str) -> None:
    message_id, outbox_id = await _outbound(harness)
    kwargs: dict = {}
    if variant == "missing":
        kwargs["signature"] = None
    elif variant == "wrong_token":
        kwargs["token"] = "forged"
    else:  # a signature captured for another outbox entry, replayed against this one
        kwargs["signed_url"] = harness.url(STATUS_PATH, "outbox=ob_other")
    resp = await harness.post_form(STATUS_PATH, _callback("failed"), query=f"outbox={outbox_id}", **kwargs)
    assert resp.status_code == 403
    assert await _status_of(harness, message_id) is None
    entry = await harness.services.outbox.get(outbox_id)
    assert entry.state is OutboxState.SENT


async def test_unsigned_callback_cannot_reconcile_a_stuck_entry(harness: Harness) -> None:
    _, outbox_id = await _outbound(harness, sent=False)
    resp = await harness.post_form(STATUS_PATH, _callback("sent"), query=f"outbox={outbox_id}", signature=None)
    assert resp.status_code == 403
    assert (await harness.services.outbox.get(outbox_id)).state is OutboxState.SENDING


async def test_callback_reconciles_an_entry_stuck_in_sending(harness: Harness) -> None:
    message_id, outbox_id = await _outbound(harness, sent=False)
    resp = await harness.post_form(STATUS_PATH, _callback("sent"), query=f"outbox={outbox_id}")
    assert resp.status_code == 200
    entry = await harness.services.outbox.get(outbox_id)
    assert entry.state is OutboxState.SENT and entry.provider_id == SID
    assert await _status_of(harness, message_id) is DeliveryStatus.SENT
    assert not await harness.services.outbox.claim(outbox_id)


async def test_unknown_outbox_is_200_and_changes_nothing(harness: Harness) -> None:
    message_id, outbox_id = await _outbound(harness)
    for query in ("outbox=ob_does_not_exist", ""):
        resp = await harness.post_form(STATUS_PATH, _callback("failed"), query=query)
        assert resp.status_code == 200 and resp.text == "ignored"
    assert await _status_of(harness, message_id) is None


async def test_callback_naming_another_sid_is_ignored(harness: Harness) -> None:
    message_id, outbox_id = await _outbound(harness)
    resp = await harness.post_form(STATUS_PATH, _callback("failed", sid="SM" + "9" * 32), query=f"outbox={outbox_id}")
    assert resp.status_code == 200
    assert await _status_of(harness, message_id) is None
    assert (await harness.services.outbox.get(outbox_id)).provider_id == SID
