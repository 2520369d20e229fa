"""A status callback that moves a reply to delivered / undelivered / failed adds one timeline event,
shown on the customer's status page; duplicates, regressions and in-between states add none."""

from __future__ import annotations

import re

from conversation import AuthorKind, ChannelKind, Direction, EventType
from tests.integration.sms.conftest import EXAMPLE_FORM, SMS_PATH, STATUS_PATH, Harness
from tests.support.twilio_api import DEFAULT_SID

SID = "SM" + "2" * 32


async def _sent_reply(harness: Harness) -> tuple[str, str, str]:
    """(conversation id, reply message id, outbox id) of an SMS reply we handed to Twilio as SID."""
    assert (await harness.post_form(SMS_PATH, EXAMPLE_FORM)).status_code == 200
    inbound = await harness.services.messages.find_message_by_external_id(ChannelKind.SMS, EXAMPLE_FORM["MessageSid"])
    assert inbound is not None
    reply = await harness.services.messages.append_message(
        inbound.conversation_id,
        "Your parcel is on its way.",
        direction=Direction.OUTBOUND,
        author_kind=AuthorKind.AI,
        channel=ChannelKind.SMS,
        meta={"causation_id": inbound.id},
    )
    outbox_id = await harness.services.outbox.create(reply.id, channel=ChannelKind.SMS)
    assert await harness.services.outbox.claim(outbox_id)
    await harness.services.outbox.mark_sent(outbox_id, provider_id=SID)
    return inbound.conversation_id, reply.id, outbox_id


def _callback(status: str) -> dict[str, str]:
    return {
        "AccountSid": DEFAULT_SID,
        "ApiVersion": "2010-04-01",
        "From": "+15558675310",
        "To": "+15017122661",
        "MessageSid": SID,
        "SmsSid": SID,
        "MessageStatus": status,
        "SmsStatus": status,
    }


async def _post(harness: Harness, outbox_id: str, *statuses: str) -> None:
    for status in statuses:
        resp = await harness.post_form(STATUS_PATH, _callback(status), query=f"outbox={outbox_id}")
        assert resp.status_code == 200, resp.text


async def _delivery_events(harness: Harness, conversation_id: str) -> list:  # type: ignore[type-arg]
    events = await harness.services.timeline.list_events(conversation_id)
    return [e for e in events if e.type in (EventType.DELIVERED, EventType.FAILED)]


async def _status_steps(harness: Harness, conversation_id: str) -> int:
    conv = await harness.services.messages.get_conversation(conversation_id)
    page = await harness.http.get(harness.url(f"/status/{conv.status_token}"))
    assert page.status_code == 200
    return len(re.findall(r'<li class="step', page.text))


async def test_delivered_adds_one_event_that_the_status_page_shows(harness: Harness) -> None:
    conversation_id, reply_id, outbox_id = await _sent_reply(harness)
    before = await _status_steps(harness, conversation_id)
    await _post(harness, outbox_id, "queued", "sending", "sent")
    assert await _delivery_events(harness, conversation_id) == []
    await _post(harness, outbox_id, "delivered", "delivered", "sent", "failed")
    events = await _delivery_events(harness, conversation_id)
    assert [e.type for e in events] == [EventType.DELIVERED]
    inbound = await harness.services.messages.find_message_by_external_id(ChannelKind.SMS, EXAMPLE_FORM["MessageSid"])
    assert events[0].data["message_id"] == reply_id and events[0].causation_id == inbound.id
    assert events[0].data["status"] == "delivered" and "+1" not in str(events[0].data)
    assert await _status_steps(harness, conversation_id) == before + 1


async def test_undelivered_and_failed_add_one_failed_event(harness: Harness) -> None:
    conversation_id, _, outbox_id = await _sent_reply(harness)
    await _post(harness, outbox_id, "sent", "undelivered", "undelivered", "delivered", "failed")
    events = await _delivery_events(harness, conversation_id)
    assert [(e.type, e.data["status"]) for e in events] == [(EventType.FAILED, "undelivered")]
    assert events[0].data["reason"] == "carrier reported undelivered"


async def test_failed_first_also_counts(harness: Harness) -> None:
    conversation_id, _, outbox_id = await _sent_reply(harness)
    await _post(harness, outbox_id, "failed")
    events = await _delivery_events(harness, conversation_id)
    assert [(e.type, e.data["status"]) for e in events] == [(EventType.FAILED, "failed")]
