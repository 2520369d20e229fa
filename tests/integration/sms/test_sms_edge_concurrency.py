"""The SMS edge under concurrent webhooks, over real HTTP, real Redis and SQLite.

Concurrent deliveries share one Ingestor per app: their SQL commits are group-committed and their
Redis work (claim, XADD, queued marker, live update) goes out in pipelines per group. These tests pin
what must still hold per message: every 200 is stored and queued exactly once, duplicates (also
concurrent ones) are neither stored nor queued twice, every new message gets one live update, and a
Redis failure after the SQL commit loses nothing (the retry queues it).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from conversation import ChannelKind, InboundMessage, PhoneAddress
from conversation.rediskit import RedisTurnQueue, connect_redis
from runtime.compose import open_container
from services.ingest import Ingestor
from services.settings import Settings
from tests.integration.sms.conftest import EXAMPLE_FORM, SMS_PATH, TURN_STREAM, Harness


def _form(i: int) -> dict[str, str]:
    sid = f"SM{i:032x}"
    return dict(EXAMPLE_FORM, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid, From=f"+4915112{i % 7:06d}")


async def _turn_entries(harness: Harness) -> list[str]:
    entries = await harness.services.redis.xrange(TURN_STREAM)
    return [fields["message_id"] for _id, fields in entries]


async def test_concurrent_webhooks_are_each_stored_queued_and_announced_once(harness: Harness) -> None:
    received: list[dict[str, Any]] = []

    async def listen() -> None:
        async for event in harness.services.bus.subscribe(None):
            if event.get("event") == "received":
                received.append(event)

    listener = asyncio.create_task(listen())
    try:
        for _ in range(200):  # until the live subscription is registered with Redis
            if (await harness.services.redis.pubsub_numsub("gd:live:all"))[0][1] >= 1:
                break
            await asyncio.sleep(0.01)
        n = 48
        responses = await asyncio.gather(*(harness.post_form(SMS_PATH, _form(i)) for i in range(n)))
        assert [r.status_code for r in responses] == [200] * n, [r.text for r in responses if r.status_code != 200]
        assert await harness.message_count() == n
        queued = await _turn_entries(harness)
        assert len(queued) == n and len(set(queued)) == n  # every message on the stream once
        for i in range(n):
            msg = await harness.services.messages.find_message_by_external_id(ChannelKind.SMS, _form(i)["MessageSid"])
            assert msg is not None and msg.id in queued
            assert await harness.services.redis.get(f"gd:enqueued:{msg.id}") == "queued"
        for _ in range(200):
            if len(received) >= n:
                break
            await asyncio.sleep(0.01)
        assert sorted(e["message_id"] for e in received) == sorted(queued)
    finally:
        listener.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listener


async def test_concurrent_duplicates_of_many_messages_store_and_queue_each_once(harness: Harness) -> None:
    forms = [_form(100 + i) for i in range(16)]
    deliveries = [f for f in forms for _ in range(3)]  # Twilio's retry and fallback URL, all at once
    responses = await asyncio.gather(*(harness.post_form(SMS_PATH, f) for f in deliveries))
    assert Counter(r.status_code for r in responses) == {200: len(deliveries)}
    assert await harness.message_count() == len(forms)
    queued = await _turn_entries(harness)
    assert len(queued) == len(forms) and len(set(queued)) == len(forms)


async def test_webhook_answer_carries_nosniff(harness: Harness) -> None:
    ok = await harness.post_form(SMS_PATH, _form(300))
    refused = await harness.post_form(SMS_PATH, _form(301), signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    assert ok.status_code == 200 and refused.status_code == 403
    assert ok.headers["x-content-type-options"] == "nosniff"
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert refused.text == "invalid Twilio signature" and await harness.message_count() == 1


async def test_a_signature_for_the_url_without_its_port_is_accepted_like_twilio_does(harness: Harness) -> None:
    """twilio's RequestValidator accepts the URL with or without the port; the edge checks the
    configured URL first and then the other form, accepting the same set."""
    form = _form(400)
    without_port = f"http://127.0.0.1{SMS_PATH}"
    assert ":" in harness.public_url.rpartition("//")[2]  # the configured URL has a port
    resp = await harness.post_form(SMS_PATH, form, signed_url=without_port)
    other_host = await harness.post_form(SMS_PATH, _form(401), signed_url=f"http://127.0.0.2{SMS_PATH}")
    assert resp.status_code == 200 and other_host.status_code == 403
    assert await harness.message_count() == 1


async def test_redis_down_for_a_concurrent_group_loses_nothing(tmp_path, redis_url) -> None:  # type: ignore[no-untyped-def]
    """Stored in SQL, then the group's Redis work fails: every caller raises (the edge answers 503),
    and each provider retry queues its turn exactly once."""
    inbound = [
        InboundMessage(
            channel=ChannelKind.SMS,
            external_id=f"SM{500 + i:032x}",
            text="Hallo",
            address=PhoneAddress(number=f"+4915112{i:06d}"),
        )
        for i in range(12)
    ]
    async with open_container(Settings(var_dir=tmp_path, redis_url=redis_url)) as services:
        await services.redis.flushdb()
        dead = connect_redis("redis://127.0.0.1:9/0")  # nothing listens on the discard port
        broken = Ingestor(dataclasses.replace(services, redis=dead, queue=RedisTurnQueue(dead)))
        outcomes = await asyncio.gather(*(broken.accept(m) for m in inbound), return_exceptions=True)
        await dead.aclose()
        assert all(isinstance(o, RedisConnectionError) for o in outcomes), outcomes
        for m in inbound:
            assert await services.messages.find_message_by_external_id(ChannelKind.SMS, m.external_id) is not None
        assert await services.redis.exists(services.queue.stream) == 0

        ingestor = Ingestor(services)
        retries = await asyncio.gather(*(ingestor.accept(m) for m in inbound + inbound))
        assert all(not r.created for r in retries)
        entries = await services.redis.xrange(services.queue.stream)
        assert sorted(f["message_id"] for _id, f in entries) == sorted({r.message.id for r in retries})
        await services.redis.flushdb()
