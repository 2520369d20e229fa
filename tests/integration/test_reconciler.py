"""The reconciler on a real SQLite store and a real Redis: lost turns are queued again (once), finished
or human-owned turns are left alone, sends stuck in `sending` become `ambiguous` and are never resent."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conversation import (
    ActorKind,
    AuthorKind,
    ChannelKind,
    ConversationStatus,
    DecisionRecord,
    Direction,
    EventType,
    InboundMessage,
    OutboxState,
    PhoneAddress,
    Route,
    TimelineEvent,
    TurnRef,
)
from conversation.rediskit.streams import StreamDelivery
from conversation.sql import upgrade_database
from runtime.compose import open_container
from services.container import Container
from services.reconciler import Reconciler
from services.settings import Settings

AGE = dt.timedelta(seconds=301)  # past reconcile_turn_age_s (300 s)


@pytest.fixture
async def services(tmp_path: Path, redis_url: str) -> AsyncIterator[Container]:
    async with open_container(Settings(var_dir=tmp_path, redis_url=redis_url)) as s:
        await s.redis.flushdb()
        yield s
        await s.redis.flushdb()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _inbound(services: Container, number: str, *, received_at: dt.datetime | None = None) -> tuple[str, str]:
    received_at = received_at or _now()
    res = await services.messages.ingest(
        InboundMessage(
            channel=ChannelKind.SMS,
            external_id=f"SM{number[1:]}",
            text="Wo ist meine Bestellung?",
            address=PhoneAddress(number=number),
            received_at=received_at,
        )
    )
    return res.message.id, res.conversation.id


async def _queued(services: Container) -> list[str]:
    return [fields["message_id"] for _id, fields in await services.redis.xrange(services.queue.stream)]


async def test_a_stored_message_that_was_never_queued_is_queued_again_once(services: Container) -> None:
    now = _now()
    later = now + AGE
    message_id, _conv = await _inbound(services, "+4915100000001")
    reconciler = Reconciler(services)
    assert (await reconciler.run_once(now=now)).requeued == []  # younger than the age: the queue may still have it
    assert (await reconciler.run_once(now=later)).requeued == [message_id]
    assert (await reconciler.run_once(now=later)).requeued == []  # one re-queue per age window
    assert await _queued(services) == [message_id]


async def test_finished_human_owned_dead_and_old_turns_are_left_alone(services: Container) -> None:
    now = _now()
    later = now + AGE
    lost, lost_conv = await _inbound(services, "+4915100000010")
    decided, decided_conv = await _inbound(services, "+4915100000011")
    await services.timeline.save_decision(
        DecisionRecord(
            conversation_id=decided_conv,
            inbound_message_id=decided,
            route=Route.AUTO_REPLY,
            rule_id="r",
            policy_version="1",
            reason="test",
        )
    )
    sent, sent_conv = await _inbound(services, "+4915100000012")
    await services.timeline.add_event(
        TimelineEvent(conversation_id=sent_conv, type=EventType.SENT, actor=ActorKind.AI, causation_id=sent)
    )
    human, human_conv = await _inbound(services, "+4915100000013")
    await services.messages.route_conversation(human_conv, ConversationStatus.HANDED_OFF, queue="general")
    dead, dead_conv = await _inbound(services, "+4915100000014")
    await services.queue.dead_letter(
        StreamDelivery("0-1", TurnRef(message_id=dead, conversation_id=dead_conv), 6), reason="failed 5 times"
    )
    old, _old_conv = await _inbound(services, "+4915100000015", received_at=now - dt.timedelta(days=8))
    # an unrelated event type caused by the message does not count as finished
    await services.timeline.add_event(
        TimelineEvent(conversation_id=lost_conv, type=EventType.UNDERSTOOD, actor=ActorKind.AI, causation_id=lost)
    )

    report = await Reconciler(services).run_once(now=later)
    assert report.requeued == [lost], {"decided": decided, "sent": sent, "human": human, "dead": dead, "old": old}


async def test_a_send_stuck_in_sending_becomes_ambiguous_and_a_person_is_told(services: Container) -> None:
    now = _now()
    inbound, conv = await _inbound(services, "+4915100000020")
    reply = await services.messages.append_message(
        conv,
        "Ihre Bestellung ist unterwegs.",
        direction=Direction.OUTBOUND,
        author_kind=AuthorKind.AI,
        channel=ChannelKind.SMS,
        meta={"ai": True, "causation_id": inbound},
    )
    stuck = await services.outbox.create(reply.id, channel=ChannelKind.SMS)
    assert await services.outbox.claim(stuck)
    reconciler = Reconciler(services)

    assert (await reconciler.run_once(now=now)).ambiguous == []  # a send in progress is not touched
    report = await reconciler.run_once(now=now + dt.timedelta(minutes=11))
    assert report.ambiguous == [stuck]
    row = await services.outbox.get(stuck)
    assert row.state is OutboxState.AMBIGUOUS and row.attempts == 1  # flagged, never resent
    assert not await services.outbox.claim(stuck)
    audit = [e for e in await services.audit.entries() if e["action"] == "outbox.ambiguous"]
    assert [e["object_id"] for e in audit] == [stuck]
    failed = [e for e in await services.timeline.list_events(conv) if e.type is EventType.FAILED]
    assert len(failed) == 1 and failed[0].causation_id == inbound and failed[0].data["message_id"] == reply.id

    assert (await reconciler.run_once(now=now + dt.timedelta(minutes=30))).ambiguous == []
    assert len([e for e in await services.timeline.list_events(conv) if e.type is EventType.FAILED]) == 1


async def test_a_chat_send_cut_off_mid_way_is_sent_again_not_escalated(services: Container) -> None:
    """The chat widget and its history show one message per id, so the reconciler sends a stuck chat
    reply again (the customer sees it once) instead of asking a person to check."""
    from conversation import ChatSession

    now = _now()
    res = await services.messages.ingest(
        InboundMessage(
            channel=ChannelKind.CHAT,
            external_id="00000000-0000-4000-9000-000000000777",
            text="Where is my order?",
            address=ChatSession(session_id="session-stuck-chat"),
        )
    )
    conv = res.conversation.id
    reply = await services.messages.append_message(
        conv,
        "Your order is on its way.",
        direction=Direction.OUTBOUND,
        author_kind=AuthorKind.AI,
        channel=ChannelKind.CHAT,
        meta={"ai": True, "causation_id": res.message.id},
    )
    stuck = await services.outbox.create(reply.id, channel=ChannelKind.CHAT)
    assert await services.outbox.claim(stuck)  # the worker that claimed it died here
    reconciler = Reconciler(services)
    first = await reconciler.run_once(now=now + dt.timedelta(minutes=11))
    second = await reconciler.run_once(now=now + dt.timedelta(minutes=12))
    assert first.ambiguous == second.ambiguous == []
    assert stuck in first.resent + second.resent
    assert (await services.outbox.get(stuck)).state is OutboxState.SENT
    assert not [e for e in await services.timeline.list_events(conv) if e.type is EventType.FAILED]


async def test_pending_and_sent_entries_are_not_flagged(services: Container) -> None:
    now = _now()
    _inbound_id, conv = await _inbound(services, "+4915100000030")
    ids = []
    for _ in range(2):
        msg = await services.messages.append_message(
            conv, "x", direction=Direction.OUTBOUND, author_kind=AuthorKind.SYSTEM, channel=ChannelKind.SMS
        )
        ids.append(await services.outbox.create(msg.id, channel=ChannelKind.SMS))
    assert await services.outbox.claim(ids[1])
    await services.outbox.mark_sent(ids[1], provider_id="SM" + "1" * 32)
    assert (await Reconciler(services).run_once(now=now + dt.timedelta(hours=1))).ambiguous == []


async def test_the_reply_of_a_turn_is_found_by_its_causation(services: Container) -> None:
    inbound, conv = await _inbound(services, "+4915100000040")
    assert await services.outbox.reply_written(inbound, author_kind=AuthorKind.AI) is None
    reply = await services.messages.append_message(
        conv,
        "Antwort",
        direction=Direction.OUTBOUND,
        author_kind=AuthorKind.AI,
        channel=ChannelKind.SMS,
        meta={"causation_id": inbound},
    )
    assert await services.outbox.reply_written(inbound, author_kind=AuthorKind.AI) == reply.id
    assert await services.outbox.reply_written(inbound, author_kind=AuthorKind.SYSTEM) is None
    assert await services.timeline.has_event(causation_id=inbound, types=[EventType.SENT]) is False


def test_migration_0003_backfills_the_causation_of_existing_replies(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_database(url, revision="0002")
    con = sqlite3.connect(path)
    con.execute("INSERT INTO contacts (id, created_at) VALUES ('ct1', '2026-01-01 00:00:00')")
    con.execute(
        "INSERT INTO conversations (id, contact_id, channel, status, priority, status_token, reply_token, "
        "last_seq, created_at, updated_at) VALUES ('cv1', 'ct1', 'sms', 'open', 'normal', 's', 'r', 2, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    for mid, seq, direction, meta in (("m1", 1, "inbound", "{}"), ("m2", 2, "outbound", '{"causation_id": "m1"}')):
        con.execute(
            "INSERT INTO messages (id, conversation_id, seq, direction, author_kind, channel, text, "
            "attachments, meta, created_at) VALUES (?, 'cv1', ?, ?, 'ai', 'sms', 't', '[]', ?, "
            "'2026-01-01 00:00:00')",
            (mid, seq, direction, meta),
        )
    con.commit()
    con.close()
    upgrade_database(url)
    con = sqlite3.connect(path)
    rows = dict(con.execute("SELECT id, causation_id FROM messages").fetchall())
    indexes = {r[1] for r in con.execute("SELECT * FROM sqlite_master WHERE type = 'index'").fetchall()}
    con.close()
    assert rows == {"m1": None, "m2": "m1"}
    assert {"ix_messages_causation_id", "ix_events_causation_id_type", "ix_messages_direction_created_at"} <= indexes
