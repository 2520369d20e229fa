"""Ingest writes the message and its RECEIVED event in one transaction; on SQLite concurrent ingests
are group-committed. The guarantees stay: one row per (channel, external_id), one event per stored
message, gap-free sequence numbers, one contact per address. Runs on SQLite and (when configured)
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from conversation import (
    ActorKind,
    ChannelKind,
    Conversation,
    ConversationStatus,
    EventType,
    InboundMessage,
    Message,
    PhoneAddress,
    TimelineEvent,
)
from conversation.sql import Database, SqlMessageStore, SqlTimelineStore
from conversation.sql import schema as t
from runtime.compose import open_container
from services.ingest import Ingestor
from services.settings import Settings


def _sms(sid: str, number: str = "+4915112345678") -> InboundMessage:
    return InboundMessage(channel=ChannelKind.SMS, external_id=sid, address=PhoneAddress(number=number), text="Hallo")


def _received(message: Message, conversation: Conversation) -> TimelineEvent:
    return TimelineEvent(
        conversation_id=conversation.id,
        type=EventType.RECEIVED,
        actor=ActorKind.SYSTEM,
        causation_id=message.id,
        data={"seq": message.seq},
    )


async def _count(db: Database, table) -> int:  # type: ignore[no-untyped-def]
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_fifty_concurrent_deliveries_store_one_message_and_one_event(database: Database) -> None:
    store = SqlMessageStore(database)
    results = await asyncio.gather(*(store.ingest(_sms("SM-once"), event=_received) for _ in range(50)))
    assert sum(r.created for r in results) == 1
    assert len({r.message.id for r in results}) == 1
    assert await _count(database, t.messages) == 1
    events = await SqlTimelineStore(database).list_events(results[0].conversation.id)
    assert [(e.type, e.causation_id) for e in events] == [(EventType.RECEIVED, results[0].message.id)]


async def test_a_stored_duplicate_writes_no_event(database: Database) -> None:
    store = SqlMessageStore(database)
    first = await store.ingest(_sms("SM-dup"), event=_received)
    again = await store.ingest(_sms("SM-dup"), event=_received)
    assert again.created is False and again.message.id == first.message.id
    assert await _count(database, t.events) == 1


async def test_concurrent_mixed_ingests_keep_every_guarantee(database: Database) -> None:
    """New and known senders, repeated sids inside one burst and sids stored before it."""
    store = SqlMessageStore(database)
    numbers = [f"+49151000000{i:02d}" for i in range(7)]
    await store.ingest(_sms("SM-0", numbers[0]), event=_received)
    await store.ingest(_sms("SM-1", numbers[1]), event=_received)
    burst = [_sms(f"SM-{i}", numbers[i % len(numbers)]) for i in range(120)]
    burst += [_sms(f"SM-{i}", numbers[i % len(numbers)]) for i in range(0, 120, 5)]  # retries in the burst
    results = await asyncio.gather(*(store.ingest(m, event=_received) for m in burst))

    assert await _count(database, t.messages) == 120
    assert await _count(database, t.contacts) == len(numbers)
    assert await _count(database, t.conversations) == len(numbers)
    assert await _count(database, t.events) == 120
    created = [r for r in results if r.created]
    assert len(created) == 118  # SM-0 and SM-1 were stored before the burst
    by_sid: dict[str, set[str]] = {}
    for r in results:
        by_sid.setdefault(r.message.external_id or "", set()).add(r.message.id)
    assert all(len(ids) == 1 for ids in by_sid.values())
    for conv_id in {r.conversation.id for r in results}:
        messages = await store.list_messages(conv_id)
        assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
        assert (await store.get_conversation(conv_id)).last_seq == len(messages)
        events = await SqlTimelineStore(database).list_events(conv_id)
        assert Counter(e.causation_id for e in events) == Counter(m.id for m in messages)
        seq_of = {m.id: m.seq for m in messages}
        assert all(e.data["seq"] == seq_of[e.causation_id] for e in events)


async def test_a_burst_after_a_closed_conversation_opens_one_new_conversation(database: Database) -> None:
    store = SqlMessageStore(database)
    old = await store.ingest(_sms("SM-old"))
    await store.route_conversation(old.conversation.id, ConversationStatus.CLOSED)
    results = await asyncio.gather(*(store.ingest(_sms(f"SM-new-{i}")) for i in range(20)))
    assert len({r.conversation.id for r in results}) == 1
    new_conv = results[0].conversation.id
    assert new_conv != old.conversation.id
    assert sorted(r.message.seq for r in results) == list(range(1, 21))
    assert results[0].conversation.contact_id == old.conversation.contact_id


async def test_ingestor_records_received_once_and_queues_once_under_concurrent_retries(tmp_path, redis_url) -> None:  # type: ignore[no-untyped-def]
    async with open_container(Settings(var_dir=tmp_path, redis_url=redis_url)) as services:
        await services.redis.flushdb()
        ingestor = Ingestor(services)
        sids = [f"SM-edge-{i}" for i in range(10)]
        inbound = [_sms(sid, f"+4915122200{i % 3:03d}") for i, sid in enumerate(sids) for _ in range(5)]
        results = await asyncio.gather(*(ingestor.accept(m) for m in inbound))
        assert sum(r.created for r in results) == len(sids)
        stored = {r.message.id for r in results}
        events = [e for cid in {r.conversation.id for r in results} for e in await services.timeline.list_events(cid)]
        assert sorted(e.causation_id for e in events if e.type is EventType.RECEIVED) == sorted(stored)
        entries = await services.redis.xrange(services.queue.stream)
        assert sorted(fields["message_id"] for _id, fields in entries) == sorted(stored)
