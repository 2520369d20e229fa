"""Parsing verified webhooks: inbound SMS/MMS (form, JSON, CloudEvent) and status callbacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels.sms import InvalidField, form_pairs, json_params, parse_inbound, parse_status
from conversation import ChannelKind, DeliveryStatus, PhoneAddress

DATA = json.loads(Path("/work/shared/data/twilio/inbound_sms_payloads.json").read_text())
FORM = DATA["payloads"][0]["form"]
CLOUD_EVENT = DATA["payloads"][1]["json"]


def test_the_twilio_example_payload() -> None:
    msg = parse_inbound(FORM)
    assert msg.channel is ChannelKind.SMS
    assert msg.external_id == "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    assert msg.address == PhoneAddress(number="+15017122661")
    assert msg.text == "Ahoy"
    assert msg.meta == {"to": "+15558675310", "num_media": 0, "media": [], "num_segments": 1}


def test_mms_media_metadata_is_kept_and_nothing_is_fetched() -> None:
    form = dict(
        FORM,
        NumMedia="2",
        Body="",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="http://169.254.169.254/latest/meta-data/",
        MediaContentType1="text/plain",
    )
    msg = parse_inbound(form)
    assert msg.text == ""
    assert msg.meta["media"] == [
        {"url": form["MediaUrl0"], "content_type": "image/jpeg"},
        {"url": form["MediaUrl1"], "content_type": "text/plain"},
    ]
    assert msg.attachments == ()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"MessageSid": None, "SmsMessageSid": None, "SmsSid": None}, "MessageSid"),
        ({"MessageSid": "1234", "SmsMessageSid": None, "SmsSid": None}, "MessageSid"),
        ({"From": None}, "From"),
        ({"From": "15017122661x"}, "From"),
        ({"From": "whatsapp:+15017122661"}, "From"),
        ({"NumMedia": "eleven"}, "NumMedia"),
        ({"NumMedia": "11"}, "NumMedia"),
        ({"NumMedia": "1"}, "MediaUrl0"),
        ({"Body": "x" * 7000}, "Body"),
    ],
)
def test_invalid_fields_are_named(change: dict[str, str | None], field: str) -> None:
    form = {k: v for k, v in {**FORM, **change}.items() if v is not None}
    with pytest.raises(InvalidField) as err:
        parse_inbound(form)
    assert err.value.field == field


def test_form_pairs_keep_blank_values_and_utf8() -> None:
    assert form_pairs(b"Body=&From=%2B4915112345678&Text=Gr%C3%BC%C3%9Fe") == [
        ("Body", ""),
        ("From", "+4915112345678"),
        ("Text", "Grüße"),
    ]
    with pytest.raises(InvalidField):
        form_pairs(b"Body=\xff\xfe")
    with pytest.raises(InvalidField):
        form_pairs(b"&".join(b"a%d=1" % i for i in range(500)))


def test_json_flat_and_cloud_event() -> None:
    flat = json_params(json.dumps(FORM).encode())
    assert parse_inbound(flat).external_id == FORM["MessageSid"]
    event = parse_inbound(json_params(json.dumps(CLOUD_EVENT).encode()))
    assert event.external_id == CLOUD_EVENT["data"]["messageSid"]
    assert event.address == PhoneAddress(number="+11234567890") and event.text == "Ahoy!"
    for bad in (b"[1]", b"{not json", b'{"Body": {"nested": 1}}'):
        with pytest.raises(InvalidField):
            json_params(bad)


def test_status_callback() -> None:
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered", "AccountSid": "AC1"}
    update = parse_status(params)
    assert update.status is DeliveryStatus.DELIVERED and update.message_sid == params["MessageSid"]
    failed = parse_status({**params, "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert failed.status is DeliveryStatus.UNDELIVERED and failed.error_code == 30003
    assert parse_status({**params, "MessageStatus": "something_new"}).status is None
    assert parse_status({**params, "MessageStatus": "received"}).status is None  # never for outbound
    legacy = parse_status({"SmsSid": params["MessageSid"], "SmsStatus": "sent"})
    assert legacy.status is DeliveryStatus.SENT
    with pytest.raises(InvalidField) as err:
        parse_status({"MessageSid": params["MessageSid"]})
    assert err.value.field == "MessageStatus"
