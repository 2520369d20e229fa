"""TwilioSmsSender against the local Twilio REST endpoint, and the outbox discipline end to end
(including a crash between the provider call and the commit: exactly one SMS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from channels.sms import (
    SendOutcomeUnknown,
    SmsPermanentError,
    SmsSenderConfig,
    SmsTransientError,
    TwilioSmsSender,
    sms_segments,
)
from conversation import (
    AuthorKind,
    ChannelKind,
    DeliveryStatus,
    Direction,
    OutboundMessage,
    OutboxState,
    PermanentDeliveryError,
    PhoneAddress,
    TransientDeliveryError,
    ai_disclosure,
)
from tests.integration.sms.conftest import EXAMPLE_FORM, SMS_PATH, Harness
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port

TO = "+4915112345678"


def _config(api_base: str, public_url: str = "https://desk.example.com", **extra: object) -> SmsSenderConfig:
    return SmsSenderConfig(
        **{
            "account_sid": DEFAULT_SID,
            "auth_token": DEFAULT_TOKEN,
            "from_number": "+15005550006",
            "public_url": public_url,
            "api_base": api_base,
            **extra,
        }
    )


def _msg(outbox_id: str = "ob_test", **extra: object) -> OutboundMessage:
    fields: dict = dict(
        conversation_id="cv_1",
        message_id="msg_1",
        outbox_id=outbox_id,
        channel=ChannelKind.SMS,
        to=PhoneAddress(number=TO),
        text="Ihr Paket ist unterwegs und kommt morgen.",
        language="de",
        ai_generated=True,
        status_url="https://desk.example.com/s/tok123",
    )
    fields.update(extra)
    return OutboundMessage(**fields)


@pytest.fixture
async def sender(twilio_api: LocalTwilioApi) -> AsyncIterator[TwilioSmsSender]:
    async with TwilioSmsSender(_config(twilio_api.base_url)) as s:
        yield s


async def test_send_reaches_the_endpoint_with_disclosure_link_and_callback(
    sender: TwilioSmsSender, twilio_api: LocalTwilioApi
) -> None:
    sid = await sender.send(_msg())
    assert sid.startswith("SM") and len(sid) == 34
    [sent] = twilio_api.messages
    assert sent["sid"] == sid and sent["to"] == TO and sent["from"] == "+15005550006"
    assert sent["body"].splitlines() == [
        ai_disclosure("de"),
        "Ihr Paket ist unterwegs und kommt morgen.",
        "https://desk.example.com/s/tok123",
    ]
    assert sent["status_callback"] == "https://desk.example.com/webhooks/twilio/status?outbox=ob_test"
    [request] = twilio_api.requests
    assert request.auth_ok and request.status == 201


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limit_and_server_errors_are_transient(
    sender: TwilioSmsSender, twilio_api: LocalTwilioApi, status: int
) -> None:
    twilio_api.fail_next(status)
    with pytest.raises(TransientDeliveryError) as err:
        await sender.send(_msg())
    assert isinstance(err.value, SmsTransientError) and err.value.status == status
    assert twilio_api.messages == []
    assert (await sender.send(_msg())).startswith("SM")  # the next attempt goes through


@pytest.mark.parametrize(("code", "status"), [(21211, 400), (21610, 400), (20003, 401)])
async def test_client_errors_are_permanent_with_twilio_code(
    sender: TwilioSmsSender, twilio_api: LocalTwilioApi, code: int, status: int
) -> None:
    twilio_api.fail_next(status, code=code)
    with pytest.raises(PermanentDeliveryError) as err:
        await sender.send(_msg())
    assert isinstance(err.value, SmsPermanentError) and err.value.code == code and err.value.status == status


async def test_wrong_credentials_are_permanent(twilio_api: LocalTwilioApi) -> None:
    cfg = _config(twilio_api.base_url, auth_token="wrong")
    async with TwilioSmsSender(cfg) as s:
        with pytest.raises(SmsPermanentError) as err:
            await s.send(_msg())
    assert err.value.code == 20003
    assert twilio_api.messages == [] and not twilio_api.requests[0].auth_ok


async def test_unreachable_endpoint_is_transient() -> None:
    async with TwilioSmsSender(_config(f"http://127.0.0.1:{free_port()}")) as s:
        with pytest.raises(SmsTransientError):
            await s.send(_msg())


async def test_no_answer_in_time_is_an_unknown_outcome(twilio_api: LocalTwilioApi) -> None:
    twilio_api.delay_next(3.0)
    async with TwilioSmsSender(_config(twilio_api.base_url, timeout_s=0.5)) as s:
        with pytest.raises(SendOutcomeUnknown):
            await s.send(_msg())


async def test_long_reply_is_shortened_to_max_segments(twilio_api: LocalTwilioApi) -> None:
    async with TwilioSmsSender(_config(twilio_api.base_url, max_segments=3)) as s:
        await s.send(_msg(text="Grüße aus dem Lager. " * 200))
        await s.send(_msg(text="Danke 👍 " * 200, language="en"))
    gsm, ucs2 = twilio_api.messages
    for sent, lang in ((gsm, "de"), (ucs2, "en")):
        lines = sent["body"].splitlines()
        assert lines[0] == ai_disclosure(lang) and lines[-1] == "https://desk.example.com/s/tok123"
        assert lines[-2].endswith("...")
        assert int(sent["num_segments"]) <= 3 and sms_segments(sent["body"]).segments <= 3
    assert sms_segments(gsm["body"]).encoding.value == "GSM-7"
    assert sms_segments(ucs2["body"]).encoding.value == "UCS-2"


async def _reply(harness: Harness) -> tuple[str, str, OutboundMessage]:
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
    msg = OutboundMessage(
        conversation_id=inbound.conversation_id,
        message_id=reply.id,
        outbox_id=outbox_id,
        channel=ChannelKind.SMS,
        to=PhoneAddress(number=EXAMPLE_FORM["From"]),
        text=reply.text,
        language="en",
        ai_generated=True,
    )
    return reply.id, outbox_id, msg


async def test_outbox_discipline_sends_once(harness: Harness, twilio_api: LocalTwilioApi) -> None:
    message_id, outbox_id, msg = await _reply(harness)
    outbox = harness.services.outbox
    async with TwilioSmsSender(_config(twilio_api.base_url, public_url=harness.public_url)) as sender:
        if await outbox.claim(outbox_id):
            sid = await sender.send(msg)
            await outbox.mark_sent(outbox_id, provider_id=sid)
        assert not await outbox.claim(outbox_id)  # a second attempt cannot claim a sent entry
    entry = await outbox.get(outbox_id)
    assert entry.state is OutboxState.SENT and entry.provider_id == sid
    assert len(twilio_api.messages) == 1


async def test_crash_between_send_and_commit_never_sends_twice(harness: Harness, twilio_api: LocalTwilioApi) -> None:
    message_id, outbox_id, msg = await _reply(harness)
    outbox = harness.services.outbox
    async with TwilioSmsSender(_config(twilio_api.base_url, public_url=harness.public_url)) as sender:
        assert await outbox.claim(outbox_id)
        sid = await sender.send(msg)
        # -- crash here: mark_sent never runs; the entry stays "sending"
    assert (await outbox.get(outbox_id)).state is OutboxState.SENDING

    # Twilio calls the StatusCallback URL it was given, signed with the auth token.
    [sent] = twilio_api.messages
    callback = urlsplit(sent["status_callback"])
    assert callback.path == "/webhooks/twilio/status" and parse_qs(callback.query) == {"outbox": [outbox_id]}
    params = {
        "AccountSid": twilio_api.account_sid,
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": "sent",
        "SmsStatus": "sent",
        "From": sent["from"],
        "To": sent["to"],
    }
    resp = await harness.post_form(callback.path, params, query=callback.query)
    assert resp.status_code == 200, resp.text

    entry = await outbox.get(outbox_id)
    assert entry.state is OutboxState.SENT and entry.provider_id == sid
    assert (await harness.services.messages.get_message(message_id)).delivery_status is DeliveryStatus.SENT

    # The restarted worker retries the send step: the claim fails, nothing is sent.
    async with TwilioSmsSender(_config(twilio_api.base_url, public_url=harness.public_url)) as sender:
        assert not await outbox.claim(outbox_id)
    assert len(twilio_api.messages) == 1
    assert [r.status for r in twilio_api.requests] == [201]
