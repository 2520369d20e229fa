"""The inbox and dashboard queries on every SQL backend (SQLite here; PostgreSQL too when CI sets
GLASSDESK_TEST_DATABASE_URL): the date arithmetic differs per dialect, so both must run."""

from __future__ import annotations

import datetime as dt

from conversation import (
    ActorKind,
    ChannelKind,
    ConversationStatus,
    DecisionRecord,
    EventType,
    InboundMessage,
    PhoneAddress,
    Priority,
    Route,
    TimelineEvent,
    utcnow,
)
from conversation.sql import Database, SqlMessageStore, SqlTimelineStore
from conversation.sql.desk import DeskQueries
from conversation.sql.metrics import SqlOpsMetrics


async def _turn(
    store: SqlMessageStore, timeline: SqlTimelineStore, sid: str, number: str, *, latency_s: float, route: Route
) -> str:
    now = utcnow()
    result = await store.ingest(
        InboundMessage(channel=ChannelKind.SMS, external_id=sid, address=PhoneAddress(number=number), text="Hallo")
    )
    cid, mid = result.conversation.id, result.message.id
    received = now - dt.timedelta(seconds=60)
    await timeline.add_event(
        TimelineEvent(
            conversation_id=cid, type=EventType.RECEIVED, actor=ActorKind.SYSTEM, causation_id=mid, occurred_at=received
        )
    )
    done = EventType.SENT if route is Route.AUTO_REPLY else EventType.HANDED_OFF
    await timeline.add_event(
        TimelineEvent(
            conversation_id=cid,
            type=done,
            actor=ActorKind.AI,
            causation_id=mid,
            occurred_at=received + dt.timedelta(seconds=latency_s),
        )
    )
    await timeline.save_decision(
        DecisionRecord(
            conversation_id=cid, inbound_message_id=mid, route=route, rule_id="r", policy_version="1", reason="test"
        )
    )
    return cid


async def test_dashboard_figures_and_inbox_order(database: Database) -> None:
    store, timeline = SqlMessageStore(database), SqlTimelineStore(database)
    now = utcnow()
    auto = await _turn(store, timeline, "SM1", "+4915100000001", latency_s=2.0, route=Route.AUTO_REPLY)
    late = await _turn(store, timeline, "SM2", "+4915100000002", latency_s=4.0, route=Route.HANDOFF)
    urgent = await _turn(store, timeline, "SM3", "+4915100000003", latency_s=6.0, route=Route.HANDOFF)
    await store.route_conversation(
        late,
        ConversationStatus.HANDED_OFF,
        queue="claims",
        priority=Priority.NORMAL,
        sla_due_at=now - dt.timedelta(minutes=30),
    )
    await store.route_conversation(
        urgent,
        ConversationStatus.HANDED_OFF,
        queue="claims",
        priority=Priority.URGENT,
        sla_due_at=now + dt.timedelta(hours=1),
    )

    figures = await SqlOpsMetrics(database).figures(now=now + dt.timedelta(seconds=1))
    assert figures.inbound_last_hour == 3
    assert figures.routes_last_day == {"auto_reply": 1, "handoff": 2}
    assert figures.latency_last_hour.count == 3
    assert figures.latency_last_hour.p50_s is not None and 3.5 <= figures.latency_last_hour.p50_s <= 4.5
    assert figures.sla_breached == 1 and figures.sla_oldest[0].conversation_id == late
    assert 29 <= figures.sla_oldest[0].overdue_min <= 31
    claims = next(q for q in figures.queues if q.queue == "claims")
    assert (claims.handed_off, claims.breached) == (2, 1)
    assert sum(figures.per_minute) == 3
    assert auto not in {b.conversation_id for b in figures.sla_oldest}

    waiting = await DeskQueries(database).waiting(queue="claims")
    assert [row.conversation_id for row in waiting][:2] == [urgent, late]  # priority first, then SLA
