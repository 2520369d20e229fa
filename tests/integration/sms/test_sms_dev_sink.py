"""Development SMS: the local Twilio sink stores replies and calls back like Twilio; the public
development token is refused on any server reachable beyond loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import uvicorn
from twilio.request_validator import RequestValidator

from channels.sms import SmsSenderConfig, TwilioSmsSender
from conversation import ChannelKind, OutboundMessage, PhoneAddress
from devtools.smssink import build_sms_sink, sms_sink_wanted
from services.settings import DEV_TWILIO_TOKEN, Settings
from tests.integration.sms.conftest import EXAMPLE_FORM, SMS_PATH, AppServer
from tests.support.twilio_api import free_port, twilio_signature


def test_the_sink_is_used_only_with_the_development_token(tmp_path: Path) -> None:
    assert sms_sink_wanted(Settings(var_dir=tmp_path))
    assert not sms_sink_wanted(Settings(var_dir=tmp_path, twilio_auth_token="a-real-token"))
    assert not sms_sink_wanted(Settings(var_dir=tmp_path, twilio_api_base="http://127.0.0.1:1"))


async def test_the_sink_stores_the_sms_and_posts_signed_callbacks(tmp_path: Path) -> None:
    received: list[tuple[str, dict[str, str], bool]] = []
    callback_port, sink_port = free_port(), free_port()
    callback_url = f"http://127.0.0.1:{callback_port}/webhooks/twilio/status?outbox=ob_1"

    async def status_app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        from urllib.parse import parse_qsl

        form = dict(parse_qsl(body.decode()))
        signature = dict(scope["headers"]).get(b"x-twilio-signature", b"").decode()
        received.append(
            (
                form.get("MessageStatus", ""),
                form,
                RequestValidator(DEV_TWILIO_TOKEN).validate(callback_url, form, signature),
            )
        )
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    settings = Settings(var_dir=tmp_path, sms_sink_port=sink_port)
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                build_sms_sink(settings, folder=tmp_path / "sms"), host="127.0.0.1", port=sink_port, log_level="warning"
            )
        ),
        uvicorn.Server(uvicorn.Config(status_app, host="127.0.0.1", port=callback_port, log_level="warning")),
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    try:
        while not all(s.started for s in servers):
            await asyncio.sleep(0.02)
        config = SmsSenderConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            public_url=f"http://127.0.0.1:{callback_port}",
            api_base=f"http://127.0.0.1:{sink_port}",
        )
        async with TwilioSmsSender(config) as sender:
            sid = await sender.send(
                OutboundMessage(
                    conversation_id="conv_1",
                    message_id="msg_1",
                    outbox_id="ob_1",
                    channel=ChannelKind.SMS,
                    to=PhoneAddress(number="+4915112345678"),
                    text="Ihre Bestellung ist unterwegs.",
                    language="de",
                    ai_generated=True,
                )
            )
        async with asyncio.timeout(10):
            while len(received) < 2:
                await asyncio.sleep(0.05)
    finally:
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks)
    stored = [json.loads(p.read_text()) for p in (tmp_path / "sms").glob("*.json")]
    assert [m["sid"] for m in stored] == [sid] and sid.startswith("SM")
    assert stored[0]["to"] == "+4915112345678" and "Ihre Bestellung ist unterwegs." in stored[0]["body"]
    assert [(status, ok) for status, _, ok in received] == [("sent", True), ("delivered", True)]
    assert all(form["MessageSid"] == sid for _, form, _ in received)


def test_the_development_token_is_refused_on_a_public_url(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(
        var_dir=tmp_path, public_url="https://support.example.com", redis_url=None
    )  # an embedded Redis under tmp_path
    with AppServer(settings, port):
        url = "https://support.example.com" + SMS_PATH
        form = dict(EXAMPLE_FORM)
        signature = twilio_signature(DEV_TWILIO_TOKEN, url, form)
        r = httpx.post(f"http://127.0.0.1:{port}{SMS_PATH}", data=form, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 403 and "no Twilio auth token configured" in r.text
