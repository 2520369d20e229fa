"""The system of record on SQLite and (when configured) PostgreSQL, through the real adapters."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from conversation import (
    AuthorKind,
    ChannelKind,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    EmailAddress,
    InboundMessage,
    OutboxState,
    PhoneAddress,
    Priority,
)
from conversation.sql import Database, SqlMessageStore, SqlOutboxStore, SqlTimelineStore
from conversation.sql import schema as t


def _sms(sid: str, text: str = "Wo ist meine Bestellung?", number: str = "+4915112345678") -> InboundMessage:
    return InboundMessage(channel=ChannelKind.SMS, external_id=sid, address=PhoneAddress(number=number), text=text)


async def _count(db: Database, table) -> int:  # type: ignore[no-untyped-def]
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_fifty_concurrent_ingests_of_one_external_id_store_one_row(database: Database) -> None:
    store = SqlMessageStore(database)
    results = await asyncio.gather(*(store.ingest(_sms("SM-dup")) for _ in range(50)))
    assert await _count(database, t.messages) == 1
    assert await _count(database, t.contacts) == 1
    assert sum(r.created for r in results) == 1
    assert len({r.message.id for r in results}) == 1


async def test_duplicate_returns_the_existing_message(database: Database) -> None:
    store = SqlMessageStore(database)
    first = await store.ingest(_sms("SM-1", "first text"))
    again = await store.ingest(_sms("SM-1", "a retry with other text"))
    assert again.created is False
    assert again.message.id == first.message.id
    assert again.message.text == "first text"


async def test_same_external_id_on_other_channel_is_a_new_message(database: Database) -> None:
    store = SqlMessageStore(database)
    await store.ingest(_sms("X-1"))
    mail = InboundMessage(
        channel=ChannelKind.EMAIL, external_id="X-1", address=EmailAddress(address="a@example.com"), text="hi"
    )
    assert (await store.ingest(mail)).created is True


async def test_concurrent_appends_keep_sequence_gap_free(database: Database) -> None:
    store = SqlMessageStore(database)
    first = await store.ingest(_sms("SM-seq"))
    conv_id = first.conversation.id
    inbound = [store.ingest(_sms(f"SM-seq-{i}")) for i in range(20)]
    outbound = [
        store.append_message(
            conv_id, f"reply {i}", direction=Direction.OUTBOUND, author_kind=AuthorKind.AI, channel=ChannelKind.SMS
        )
        for i in range(20)
    ]
    await asyncio.gather(*inbound, *outbound)
    seqs = [m.seq for m in await store.list_messages(conv_id)]
    assert seqs == list(range(1, 42))
    assert (await store.get_conversation(conv_id)).last_seq == 41


async def test_one_contact_per_address_and_conversation_reuse(database: Database) -> None:
    store = SqlMessageStore(database)
    a = await store.ingest(_sms("A1"))
    b = await store.ingest(_sms("A2"))
    other = await store.ingest(_sms("B1", number="+447700900123"))
    assert a.conversation.id == b.conversation.id
    assert other.conversation.contact_id != a.conversation.contact_id
    await store.route_conversation(a.conversation.id, ConversationStatus.CLOSED)
    c = await store.ingest(_sms("A3"))
    assert c.conversation.id != a.conversation.id
    assert c.conversation.contact_id == a.conversation.contact_id


async def test_route_and_tokens(database: Database) -> None:
    store = SqlMessageStore(database)
    res = await store.ingest(_sms("T1"))
    conv = await store.route_conversation(
        res.conversation.id, ConversationStatus.HANDED_OFF, queue="claims", priority=Priority.HIGH
    )
    assert (conv.status, conv.queue, conv.priority) == (ConversationStatus.HANDED_OFF, "claims", Priority.HIGH)
    found = await store.find_conversation(status_token=conv.status_token)
    assert found is not None and found.id == conv.id
    assert await store.find_conversation(status_token="nope") is None


async def test_delivery_status_never_regresses_in_the_store(database: Database) -> None:
    store = SqlMessageStore(database)
    res = await store.ingest(_sms("D1"))
    msg = await store.append_message(
        res.conversation.id, "hi", direction=Direction.OUTBOUND, author_kind=AuthorKind.AI, channel=ChannelKind.SMS
    )
    for status in (
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.SENT,
        DeliveryStatus.FAILED,
        DeliveryStatus.QUEUED,
    ):
        await store.set_delivery_status(msg.id, status)
    assert (await store.get_message(msg.id)).delivery_status is DeliveryStatus.DELIVERED


async def test_outbox_is_claimed_once(database: Database) -> None:
    store = SqlMessageStore(database)
    outbox = SqlOutboxStore(database)
    res = await store.ingest(_sms("O1"))
    msg = await store.append_message(
        res.conversation.id, "hi", direction=Direction.OUTBOUND, author_kind=AuthorKind.AI, channel=ChannelKind.SMS
    )
    oid = await outbox.create(msg.id, channel=ChannelKind.SMS)
    assert await outbox.create(msg.id, channel=ChannelKind.SMS) == oid
    wins = await asyncio.gather(*(outbox.claim(oid) for _ in range(10)))
    assert wins.count(True) == 1
    await outbox.mark_sent(oid, provider_id="SMabc")
    assert await outbox.claim(oid) is False
    row = await outbox.get(oid)
    assert (row.state, row.provider_id, row.attempts) == (OutboxState.SENT, "SMabc", 1)


async def test_timeline_and_decision_round_trip(database: Database) -> None:
    from conversation import ActorKind, DecisionRecord, EventType, LookupRecord, Route, TimelineEvent

    store = SqlMessageStore(database)
    timeline = SqlTimelineStore(database)
    res = await store.ingest(_sms("E1"))
    cid = res.conversation.id
    await timeline.add_event(
        TimelineEvent(conversation_id=cid, type=EventType.RECEIVED, actor=ActorKind.SYSTEM, causation_id=res.message.id)
    )
    await timeline.add_event(
        TimelineEvent(
            conversation_id=cid, type=EventType.UNDERSTOOD, actor=ActorKind.AI, data={"intent": "order_status"}
        )
    )
    assert [e.type for e in await timeline.list_events(cid)] == [EventType.RECEIVED, EventType.UNDERSTOOD]
    rec = DecisionRecord(
        conversation_id=cid,
        inbound_message_id=res.message.id,
        route=Route.AUTO_REPLY,
        rule_id="r1",
        policy_version="3",
        reason="because",
        lookups=(LookupRecord(tool="order_status", source_id="lookup:order_status:10023", ok=True),),
    )
    await timeline.save_decision(rec)
    await timeline.save_decision(rec.model_copy(update={"approved_by": "agent-1"}))
    got = await timeline.decision_for(res.message.id)
    assert got is not None and got.approved_by == "agent-1" and got.lookups[0].tool == "order_status"
    assert await _count(database, t.decisions) == 1
