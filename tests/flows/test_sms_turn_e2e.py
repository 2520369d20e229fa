"""SMS end to end: a signed Twilio webhook over real HTTP to the running app, the real worker runs the
Prefect flow, the reply reaches a local Twilio-compatible REST endpoint."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conversation import ChannelKind, Direction, EventType, Route, ai_disclosure
from knowledge.article import Language
from knowledge.backoffice import OrderStatus, SqlBackOffice
from knowledge.drafting.labels import label
from runtime.compose import open_container
from runtime.turn_runner import TurnRunner
from runtime.worker import worker_for
from services.container import Container
from services.settings import Settings
from tests.integration.sms.conftest import EXAMPLE_FORM, SMS_PATH, AppServer
from tests.integration.test_attachments_http import PNG, media_host
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port, twilio_signature

ANNA = "+4915112345678"
JOHN = "+447700900123"


@dataclass
class SmsStack:
    settings: Settings
    services: Container
    twilio: LocalTwilioApi
    http: httpx.AsyncClient
    var: Path
    media_port: int

    async def text_us(self, sender: str, body: str, *, sid: str, extra: dict[str, str] | None = None) -> str:
        """Post Twilio's signed inbound webhook; returns the id of the stored message."""
        url = self.settings.public_url + SMS_PATH
        form = dict(
            EXAMPLE_FORM,
            From=sender,
            Body=body,
            MessageSid=sid,
            SmsMessageSid=sid,
            SmsSid=sid,
            To=self.settings.twilio_from_number,
            AccountSid=DEFAULT_SID,
            **(extra or {}),
        )
        signature = twilio_signature(DEFAULT_TOKEN, url, form)
        resp = await self.http.post(url, data=form, headers={"X-Twilio-Signature": signature})
        assert resp.status_code == 200, resp.text
        msg = await self.services.messages.find_message_by_external_id(ChannelKind.SMS, sid)
        assert msg is not None
        return msg.id

    async def run_worker(self) -> None:
        runner = await TurnRunner.create(self.services)
        worker = worker_for(self.services, runner.handle_batch, name="test-sms-worker")
        try:
            assert await worker.run_once(block_ms=500) >= 1
        finally:
            await runner.aclose()
        assert (await self.services.queue.depth())["pending"] == 0

    def replies_to(self, number: str) -> list[str]:
        return [m["body"] for m in self.twilio.messages if m["to"] == number]


@pytest.fixture
async def sms_stack(prefect_harness: str, demo_var: Path, redis_url: str, tmp_path: Path) -> AsyncIterator[SmsStack]:
    var = tmp_path / "var"
    shutil.copytree(demo_var, var)  # own copy: conversations of other tests do not leak in
    port = free_port()
    with LocalTwilioApi() as twilio, media_host() as (media_port, _):
        settings = Settings(
            var_dir=var,
            redis_url=redis_url,
            public_url=f"http://127.0.0.1:{port}",
            twilio_account_sid=DEFAULT_SID,
            twilio_auth_token=DEFAULT_TOKEN,
            twilio_api_base=twilio.base_url,
            prefect_api_url=prefect_harness,
            mms_media_hosts=f"127.0.0.1:{media_port}",
        )
        async with open_container(settings, migrate=False) as services:
            await services.redis.flushdb()
            with AppServer(settings, port):
                async with httpx.AsyncClient(timeout=30) as http:
                    yield SmsStack(settings, services, twilio, http, var, media_port)
            await services.redis.flushdb()


async def _order_10023_of_anna(var: Path) -> OrderStatus:
    """What the back office says about Anna's order 10023, read at test time (not hard-coded)."""
    backoffice = SqlBackOffice.from_path(var / "backoffice.db")
    try:
        customer = await backoffice.find_customer(phone=ANNA)
        assert customer is not None
        order = await backoffice.order_status(customer.customer_id, "10023")
    finally:
        await backoffice.aclose()
    assert order is not None and order.shipment is not None
    return order


async def test_sms_order_question_gets_an_automatic_reply_with_the_real_status(sms_stack: SmsStack) -> None:
    message_id = await sms_stack.text_us(ANNA, "Wo ist meine Bestellung 10023?", sid="SM" + "1" * 32)
    await sms_stack.run_worker()

    order = await _order_10023_of_anna(sms_stack.var)
    assert order.shipment is not None
    replies = sms_stack.replies_to(ANNA)
    assert len(replies) == 1, replies
    body = replies[0]
    assert label(order.shipment.status, Language.DE) in body, body  # e.g. "Status: unterwegs"
    assert order.shipment.carrier in body and order.shipment.tracking_number in body, body
    assert "10023" in body
    assert ai_disclosure("de") in body.splitlines()[0], body  # disclosure first, in German
    assert "/status/" in body.splitlines()[-1], body
    conv = await sms_stack.services.messages.get_conversation(
        (await sms_stack.services.messages.get_message(message_id)).conversation_id
    )
    assert f"{sms_stack.settings.public_url}/status/{conv.status_token}" in body

    record = await sms_stack.services.timeline.decision_for(message_id)
    assert record is not None and record.route is Route.AUTO_REPLY
    assert record.rule_id and record.policy_version
    order_lookups = [lk for lk in record.lookups if lk.tool == "order_status"]
    assert order_lookups and order_lookups[0].ok, record.lookups
    assert record.outbound_message_id is not None
    outbound = await sms_stack.services.messages.get_message(record.outbound_message_id)
    assert outbound.direction is Direction.OUTBOUND and outbound.external_id == sms_stack.twilio.messages[0]["sid"]
    assert outbound.meta["ai"] is True
    assert await sms_stack.services.timeline.has_event(causation_id=message_id, types=[EventType.SENT])

    # the status page says what was checked, in German, with only what Anna may see
    from web.status import describe_event

    looked = [e for e in await sms_stack.services.timeline.list_events(conv.id) if e.type is EventType.LOOKED_UP]
    details = describe_event(looked[-1], "de")["details"]  # type: ignore[index]
    assert len(details) == 1 and details[0].startswith("Bestellung 10023: "), details
    assert order.shipment.carrier in details[0] and label(order.shipment.status, Language.DE) in details[0]
    assert order.shipment.tracking_number not in details[0]  # the SMS carries it; the public page does not


async def test_sms_about_someone_elses_order_reveals_nothing(sms_stack: SmsStack) -> None:
    message_id = await sms_stack.text_us(JOHN, "Where is my order 10023?", sid="SM" + "2" * 32)
    await sms_stack.run_worker()

    order = await _order_10023_of_anna(sms_stack.var)
    assert order.shipment is not None
    record = await sms_stack.services.timeline.decision_for(message_id)
    assert record is not None
    assert not any(lk.ok for lk in record.lookups if lk.tool == "order_status"), record.lookups
    replies = sms_stack.replies_to(JOHN)
    assert len(replies) == 1, replies  # the customer hears back (a person, or a question), never Anna's data
    assert sms_stack.replies_to(ANNA) == []
    anna_facts = [
        order.shipment.tracking_number,
        label(order.shipment.status, Language.EN),
        label(order.shipment.status, Language.DE),
        *(item.name for item in order.items),
        "Anna",
        "Schmidt",
        ANNA,
    ]
    for fact in anna_facts:
        assert fact not in replies[0], (fact, replies[0])
    from web.status import describe_event

    conv_id = (await sms_stack.services.messages.get_message(message_id)).conversation_id
    looked = [e for e in await sms_stack.services.timeline.list_events(conv_id) if e.type is EventType.LOOKED_UP]
    details = describe_event(looked[-1], "en")["details"] if looked else []  # type: ignore[index]
    assert all(fact not in " ".join(details) for fact in anna_facts), details


async def test_mms_media_is_fetched_by_the_worker_into_the_message(sms_stack: SmsStack) -> None:
    """The webhook keeps the media as metadata; the turn's first step fetches it (from an allowed host)."""
    sid = "MM" + "3" * 32
    base = f"http://127.0.0.1:{sms_stack.media_port}/2010-04-01/Accounts/{DEFAULT_SID}/Messages/{sid}/Media"
    media = {
        "NumMedia": "2",
        "MediaUrl0": f"{base}/photo",
        "MediaContentType0": "image/png",
        "MediaUrl1": "https://files.example.com/evil.png",  # not Twilio's: refused, never contacted
        "MediaContentType1": "image/png",
    }
    message_id = await sms_stack.text_us(ANNA, "Foto vom Schaden anbei", sid=sid, extra=media)
    before = await sms_stack.services.messages.get_message(message_id)
    assert before.attachments == ()  # the webhook fetched nothing
    await sms_stack.run_worker()

    after = await sms_stack.services.messages.get_message(message_id)
    assert [a.content_type for a in after.attachments] == ["image/png"]
    assert await sms_stack.services.blobs.get(after.attachments[0].blob_key) == PNG
    states = [m.get("fetch") for m in after.meta["media"]]
    assert states == ["stored", "failed"], after.meta["media"]
    assert "not allowed" in after.meta["media"][1].get("error", ""), after.meta["media"]
