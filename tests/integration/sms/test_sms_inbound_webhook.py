"""POST /webhooks/twilio/sms over real HTTP: fail closed, store once, enqueue once, answer TwiML."""

from __future__ import annotations

import json
import logging

import pytest

from conversation import ChannelKind
from tests.integration.sms.conftest import EXAMPLE_FORM, SMS_PATH, AppServer, Harness, make_settings
from tests.support.twilio_api import free_port

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SECRET_BODY = "my card number is 4111 1111 1111 1111"


async def test_valid_webhook_is_stored_once_enqueued_once_and_acked(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # aiosqlite logs SQL parameters at DEBUG: never run production at DEBUG
    resp = await harness.post_form(SMS_PATH, dict(EXAMPLE_FORM, Body=SECRET_BODY))
    assert resp.status_code == 200, resp.text
    assert resp.text == EMPTY_TWIML and resp.headers["content-type"].startswith("text/xml")
    assert await harness.message_count() == 1
    assert harness.stream_len() == 1
    msg = await harness.services.messages.find_message_by_external_id(ChannelKind.SMS, EXAMPLE_FORM["MessageSid"])
    assert msg is not None and msg.text == SECRET_BODY and msg.meta["to"] == EXAMPLE_FORM["To"]
    assert SECRET_BODY not in caplog.text and EXAMPLE_FORM["From"] not in caplog.text


@pytest.mark.parametrize(
    "variant",
    [
        "missing",
        "empty",
        "wrong_token",
        "tampered_param",
        "added_param",
        "removed_param",
        "other_port",
        "trailing_slash",
        "https_scheme",
        "host_header_spoof",
    ],
)
async def test_bad_signature_is_403_and_nothing_is_stored(
    harness: Harness, variant: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = dict(EXAMPLE_FORM, Body=SECRET_BODY)
    kwargs: dict = {}
    sent = dict(form)
    port = harness.settings.public_url.rsplit(":", 1)[1]
    match variant:
        case "missing":
            kwargs["signature"] = None
        case "empty":
            kwargs["signature"] = ""
        case "wrong_token":
            kwargs["token"] = "not-the-token"
        case "tampered_param":
            kwargs["signed_params"] = form
            sent["Body"] = "tampered"
        case "added_param":
            kwargs["signed_params"] = form
            sent["Injected"] = "1"
        case "removed_param":
            kwargs["signed_params"] = form
            del sent["FromCity"]
        case "other_port":
            kwargs["signed_url"] = harness.url(SMS_PATH).replace(f":{port}", f":{int(port) + 1}")
        case "trailing_slash":
            kwargs["signed_url"] = harness.url(SMS_PATH) + "/"
        case "https_scheme":
            kwargs["signed_url"] = harness.url(SMS_PATH).replace("http://", "https://")
        case "host_header_spoof":
            # signed for the host the attacker controls and sent with that Host header: we use public_url
            kwargs["signed_url"] = f"http://evil.example{SMS_PATH}"
            kwargs["headers"] = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    resp = await harness.post_form(SMS_PATH, sent, **kwargs)
    assert resp.status_code == 403
    assert resp.text == "invalid Twilio signature"
    assert await harness.message_count() == 0
    assert harness.stream_len() == 0
    assert SECRET_BODY not in caplog.text and "tampered" not in caplog.text


async def test_same_message_sid_three_times_is_one_message(harness: Harness) -> None:
    for _ in range(3):
        resp = await harness.post_form(SMS_PATH, EXAMPLE_FORM)
        assert resp.status_code == 200 and resp.text == EMPTY_TWIML
    assert await harness.message_count() == 1
    assert harness.stream_len() == 1


async def test_concurrent_duplicates_are_one_message(harness: Harness) -> None:
    import asyncio

    form = dict(EXAMPLE_FORM, MessageSid="SM" + "c" * 32)
    resps = await asyncio.gather(*(harness.post_form(SMS_PATH, form) for _ in range(8)))
    assert [r.status_code for r in resps] == [200] * 8
    assert await harness.message_count() == 1 and harness.stream_len() == 1


async def test_mms_media_metadata_is_kept(harness: Harness) -> None:
    form = dict(
        EXAMPLE_FORM,
        MessageSid="MM" + "d" * 32,
        NumMedia="2",
        Body="see photo",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="http://127.0.0.1:1/internal",
        MediaContentType1="image/png",
    )
    resp = await harness.post_form(SMS_PATH, form)
    assert resp.status_code == 200
    msg = await harness.services.messages.find_message_by_external_id(ChannelKind.SMS, form["MessageSid"])
    assert msg is not None and msg.meta["num_media"] == 2
    assert msg.meta["media"] == [
        {"url": form["MediaUrl0"], "content_type": "image/jpeg"},
        {"url": form["MediaUrl1"], "content_type": "image/png"},
    ]
    assert msg.attachments == ()


@pytest.mark.parametrize(
    ("change", "field"),
    [({"MessageSid": None, "SmsMessageSid": None, "SmsSid": None}, "MessageSid"), ({"From": "12345"}, "From")],
)
async def test_signed_but_invalid_fields_are_400_naming_the_field(harness: Harness, change: dict, field: str) -> None:
    form = {k: v for k, v in {**EXAMPLE_FORM, **change}.items() if v is not None}
    resp = await harness.post_form(SMS_PATH, form)
    assert resp.status_code == 400 and field in resp.text
    assert await harness.message_count() == 0 and harness.stream_len() == 0


async def test_json_body_with_valid_body_hash_is_accepted(harness: Harness) -> None:
    body = json.dumps(dict(EXAMPLE_FORM, MessageSid="SM" + "e" * 32)).encode()
    resp = await harness.post_json(SMS_PATH, body)
    assert resp.status_code == 200 and resp.text == EMPTY_TWIML
    assert await harness.message_count() == 1 and harness.stream_len() == 1


async def test_json_body_tampered_under_the_original_hash_is_403(harness: Harness) -> None:
    original = json.dumps(dict(EXAMPLE_FORM, MessageSid="SM" + "e" * 32)).encode()
    tampered = original.replace(b"Ahoy", b"Refund")
    resp = await harness.post_json(SMS_PATH, tampered, hash_of=original)
    assert resp.status_code == 403
    assert await harness.message_count() == 0 and harness.stream_len() == 0


async def test_oversized_body_is_413_before_parsing(harness: Harness) -> None:
    form = dict(EXAMPLE_FORM, Body="x" * 70_000)
    resp = await harness.post_form(SMS_PATH, form)
    assert resp.status_code == 413
    assert await harness.message_count() == 0


async def test_unknown_content_type_is_refused(harness: Harness) -> None:
    resp = await harness.http.post(harness.url(SMS_PATH), content=b"hello", headers={"Content-Type": "text/plain"})
    assert resp.status_code in (403, 415) and await harness.message_count() == 0


async def test_store_down_is_503_so_twilio_retries(tmp_path, redis_url) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.support.twilio_api import twilio_signature

    port = free_port()
    settings = make_settings(tmp_path, "redis://127.0.0.1:1/0", port)  # nothing listens on port 1
    with AppServer(settings, port):
        url = f"{settings.public_url}{SMS_PATH}"
        async with httpx.AsyncClient(timeout=30) as http:
            resp = await http.post(
                url,
                data=EXAMPLE_FORM,
                headers={"X-Twilio-Signature": twilio_signature("test-auth-token", url, EXAMPLE_FORM)},
            )
    assert resp.status_code == 503
    assert "retry" in resp.text


async def test_valid_request_through_a_proxy_is_checked_against_public_url(tmp_path, redis_url) -> None:  # type: ignore[no-untyped-def]
    """Twilio signs https://desk.example.com/...; a TLS proxy forwards it to us over http on a local port."""
    import httpx
    import redis as redis_sync

    from tests.support.twilio_api import DEFAULT_TOKEN, twilio_signature

    redis_sync.Redis.from_url(redis_url).flushdb()
    port = free_port()
    settings = make_settings(tmp_path, redis_url, port).model_copy(update={"public_url": "https://desk.example.com"})
    signed_for = f"https://desk.example.com{SMS_PATH}"
    local = f"http://127.0.0.1:{port}{SMS_PATH}"
    proxy_headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "desk.example.com", "Host": "desk.example.com"}
    with AppServer(settings, port):
        async with httpx.AsyncClient(timeout=30) as http:
            ok = await http.post(
                local,
                data=EXAMPLE_FORM,
                headers={
                    **proxy_headers,
                    "X-Twilio-Signature": twilio_signature(DEFAULT_TOKEN, signed_for, EXAMPLE_FORM),
                },
            )
            # a signature for the local URL (what a Host-trusting app would check) is refused
            local_sig = await http.post(
                local,
                data=dict(EXAMPLE_FORM, MessageSid="SM" + "7" * 32),
                headers={
                    "X-Twilio-Signature": twilio_signature(
                        DEFAULT_TOKEN, local, dict(EXAMPLE_FORM, MessageSid="SM" + "7" * 32)
                    )
                },
            )
    assert ok.status_code == 200 and ok.text == EMPTY_TWIML
    assert local_sig.status_code == 403
    assert redis_sync.Redis.from_url(redis_url).xlen("gd:turns") == 1


async def test_signed_json_that_is_not_an_object_is_400(harness: Harness) -> None:
    resp = await harness.post_json(SMS_PATH, b"[1, 2]")
    assert resp.status_code == 400 and "body" in resp.text
    assert await harness.message_count() == 0
