"""An accepted message is never dropped: if Redis fails after the SQL commit, the provider's retry
(a duplicate) is what puts the turn on the stream."""

from __future__ import annotations

import dataclasses

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from conversation import ChannelKind, InboundMessage, PhoneAddress
from conversation.rediskit import RedisTurnQueue, connect_redis
from runtime.compose import open_container
from services.ingest import Ingestor
from services.settings import Settings


async def test_retry_after_failed_enqueue_queues_the_turn_once(tmp_path, redis_url) -> None:  # type: ignore[no-untyped-def]
    inbound = InboundMessage(
        channel=ChannelKind.SMS, external_id="SM-requeue", text="Hallo", address=PhoneAddress(number="+4915112345678")
    )
    async with open_container(Settings(var_dir=tmp_path, redis_url=redis_url)) as services:
        await services.redis.flushdb()
        dead = connect_redis("redis://127.0.0.1:9/0")  # nothing listens on the discard port
        broken = dataclasses.replace(services, redis=dead, queue=RedisTurnQueue(dead))
        with pytest.raises(RedisConnectionError):
            await Ingestor(broken).accept(inbound)  # stored in SQL, then Redis fails: the edge answers 503
        await dead.aclose()
        assert await services.messages.find_message_by_external_id(ChannelKind.SMS, "SM-requeue") is not None
        assert await services.redis.xlen(services.queue.stream) == 0

        first_retry = await Ingestor(services).accept(inbound)
        second_retry = await Ingestor(services).accept(inbound)
        assert first_retry.created is False and second_retry.created is False
        entries = await services.redis.xrange(services.queue.stream)
        assert [fields["message_id"] for _id, fields in entries] == [first_retry.message.id]
