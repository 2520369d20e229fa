"""The ops dashboard over real HTTP, SQLite and Redis: figures follow seeded data (turn queue, an SLA
breach, a dead-lettered turn, latency percentiles, routes, failures, quarantine), the event stream
pushes a fresh snapshot when a message arrives, and agents get 404."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

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
    TurnRef,
)
from conversation.rediskit import StreamDelivery
from services.container import Container
from services.ingest import Ingestor
from tests.browser.live_server import LiveServer
from tests.support.staff import login

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def ops(staff_server: LiveServer) -> httpx.Client:
    return login(staff_server, "ops1")[0]


def _metrics(client: httpx.Client) -> dict:
    r = client.get("/api/ops/metrics")
    assert r.status_code == 200, r.text
    return r.json()


async def _ingest(s: Container, text: str = "where is my parcel?"):  # type: ignore[no-untyped-def]
    n = next(_numbers)
    return await Ingestor(s).accept(
        InboundMessage(
            channel=ChannelKind.SMS,
            external_id=f"SMops{n:029d}",
            address=PhoneAddress(number=f"+4917000000{n:03d}"),
            text=text,
        )
    )


async def _received_at(s: Container, result) -> dt.datetime:  # type: ignore[no-untyped-def]
    events = await s.timeline.list_events(result.conversation.id)
    return next(e.occurred_at for e in events if e.type is EventType.RECEIVED and e.causation_id == result.message.id)


def test_metrics_follow_seeded_data(staff_server: LiveServer, ops: httpx.Client) -> None:
    before = _metrics(ops)

    async def seed(s: Container) -> dict:
        out: dict = {}
        # two turns answered after 2 s and 10 s, one handed off to billing and already past its SLA
        for seconds, route in ((2.0, Route.AUTO_REPLY), (10.0, Route.HANDOFF)):
            result = await _ingest(s)
            done = EventType.SENT if route is Route.AUTO_REPLY else EventType.HANDED_OFF
            at = await _received_at(s, result) + dt.timedelta(seconds=seconds)
            await s.timeline.add_event(
                TimelineEvent(
                    conversation_id=result.conversation.id,
                    type=done,
                    actor=ActorKind.AI,
                    causation_id=result.message.id,
                    occurred_at=at,
                )
            )
            # a later step of the same turn does not count: latency runs to the first reply/handoff
            await s.timeline.add_event(
                TimelineEvent(
                    conversation_id=result.conversation.id,
                    type=EventType.SENT,
                    actor=ActorKind.HUMAN,
                    causation_id=result.message.id,
                    occurred_at=at + dt.timedelta(minutes=5),
                )
            )
            await s.timeline.save_decision(
                DecisionRecord(
                    conversation_id=result.conversation.id,
                    inbound_message_id=result.message.id,
                    route=route,
                    rule_id="r",
                    policy_version="1",
                    reason="seeded",
                )
            )
            out[route] = result
        await s.messages.route_conversation(
            out[Route.HANDOFF].conversation.id,
            ConversationStatus.HANDED_OFF,
            queue="billing",
            priority=Priority.HIGH,
            sla_due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30),
        )
        # a turn that failed, and one that was dead-lettered after too many deliveries
        failed = await _ingest(s)
        await s.timeline.add_event(
            TimelineEvent(
                conversation_id=failed.conversation.id,
                type=EventType.FAILED,
                actor=ActorKind.SYSTEM,
                causation_id=failed.message.id,
            )
        )
        dead = await _ingest(s)
        entry = await s.queue.enqueue(TurnRef(message_id=dead.message.id, conversation_id=dead.conversation.id))
        await s.queue.dead_letter(
            StreamDelivery(entry, TurnRef(message_id=dead.message.id, conversation_id=dead.conversation.id), 6),
            reason="failed 5 times",
        )
        out["quarantine"] = await s.quarantine.add(
            channel="email", reason="unparseable", detail="From: x@example.com", blob_key="k"
        )
        out["dead"] = dead
        return out

    seeded = staff_server.call(seed)
    m = _metrics(ops)

    # four new inbound turns, all still waiting in the stream (no worker runs here)
    assert m["inbound"]["last_hour"] == before["inbound"]["last_hour"] + 4
    assert m["turn_queue"]["waiting"] >= before["turn_queue"]["waiting"] + 4 or m["turn_queue"]["waiting_capped"]
    assert m["turns_per_minute"]["current"] + m["turns_per_minute"]["last_full_minute"] >= 4
    assert sum(m["turns_per_minute"]["series"]) == m["inbound"]["last_hour"]
    # SLA breach in the billing queue, listed by id only
    assert m["sla"]["breached"] == before["sla"]["breached"] + 1
    billing = next(q for q in m["queues"] if q["queue"] == "billing")
    assert billing == {"queue": "billing", "awaiting_agent": 0, "handed_off": 1, "breached": 1}
    oldest = next(b for b in m["sla"]["oldest"] if b["conversation_id"] == seeded[Route.HANDOFF].conversation.id)
    assert oldest["queue"] == "billing" and oldest["priority"] == "high" and 29 <= oldest["overdue_min"] <= 31
    # latency: nearest-rank p50 and p95 of 2 s and 10 s; the later human reply is ignored
    lat = m["latency"]["last_hour"]
    assert lat["count"] == before["latency"]["last_hour"]["count"] + 2
    if before["latency"]["last_hour"]["count"] == 0:
        assert lat["p50_s"] == pytest.approx(2.0, abs=0.01) and lat["p95_s"] == pytest.approx(10.0, abs=0.01)
    # routes and rates
    assert m["routes_last_day"]["auto_reply"] == before["routes_last_day"]["auto_reply"] + 1
    assert m["routes_last_day"]["handoff"] == before["routes_last_day"]["handoff"] + 1
    assert 0 < m["automation_rate"] < 1 and 0 < m["handoff_rate"] < 1
    # failures, dead letters, quarantine
    assert m["failures"]["failed_turns_last_day"] == before["failures"]["failed_turns_last_day"] + 1
    assert m["turn_queue"]["dead_lettered"] == before["turn_queue"]["dead_lettered"] + 1
    dead = m["failures"]["dead_letters"][0]
    assert dead["message_id"] == seeded["dead"].message.id and dead["deliveries"] == 6
    assert dead["task_runs_url"] == f"/ops/prefect/turns/{seeded['dead'].message.id}"
    # Prefect is not running here: the link falls back to the UI's task-run search for the message id
    opened = ops.get(dead["task_runs_url"], follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"].startswith("http://127.0.0.1:4200/runs?tab=task-runs")
    assert seeded["dead"].message.id in opened.headers["location"]
    bad = ops.get("/ops/prefect/turns/not-an-id", follow_redirects=False)
    assert bad.status_code == 400 and "not a message id" in bad.json()["detail"]
    assert m["quarantine"]["open"] == before["quarantine"]["open"] + 1
    assert m["quarantine"]["newest"][0] == {
        "id": seeded["quarantine"],
        "channel": "email",
        "reason": "unparseable",
        "created_at": m["quarantine"]["newest"][0]["created_at"],
    }
    assert m["prefect"]["ui_url"] == "http://127.0.0.1:4200" and m["prefect"]["flow"] == "turns"
    # no customer content anywhere in the snapshot
    flat = json.dumps(m)
    assert "parcel" not in flat and "+49170" not in flat and "example.com" not in flat


def _events(client: httpx.Client) -> Iterator[dict]:
    with client.stream("GET", "/api/ops/events", timeout=httpx.Timeout(10, read=20)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                yield json.loads(line[6:])


def _wait_subscribed(server: LiveServer, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while int(server.call(lambda s: s.redis.pubsub_numsub("gd:live:all"))[0][1]) < 1:
        assert time.monotonic() < deadline, "the event stream never subscribed to the live bus"
        time.sleep(0.05)


def test_the_event_stream_pushes_when_a_message_arrives_and_throttles(
    staff_server: LiveServer, ops: httpx.Client
) -> None:
    stream = _events(ops)
    try:
        first = next(stream)
        _wait_subscribed(staff_server)
        staff_server.call(_ingest)
        started = time.monotonic()
        second = next(stream)
        assert time.monotonic() - started < 5  # pushed by the bus, long before the periodic refresh
        assert second["inbound"]["last_hour"] == first["inbound"]["last_hour"] + 1

        # the bus stays busy for 3 s (an event every 20 ms): still at most one push per second
        stop = threading.Event()

        def busy() -> None:
            i = 0
            while not stop.is_set():
                staff_server.call(lambda s, i=i: s.bus.publish(f"cv_busy{i}", {"event": "understood", "actor": "ai"}))
                i += 1
                time.sleep(0.02)

        publisher = threading.Thread(target=busy, daemon=True)
        t0 = time.monotonic()
        publisher.start()
        stamps = []
        try:
            while time.monotonic() - t0 < 3.0:
                next(stream)
                stamps.append(time.monotonic())
        finally:
            stop.set()
            publisher.join(timeout=5)
        assert 2 <= len(stamps) <= 5, stamps
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        assert all(g >= 0.9 for g in gaps), gaps
    finally:
        stream.close()
    # the server notices the closed stream and lets go of its bus subscription
    deadline = time.monotonic() + 5
    while int(staff_server.call(lambda s: s.redis.pubsub_numsub("gd:live:all"))[0][1]) > 0:
        assert time.monotonic() < deadline, "the event stream kept its subscription after the client left"
        time.sleep(0.05)


def test_agents_get_404_and_the_page_renders_for_ops(staff_server: LiveServer, ops: httpx.Client) -> None:
    agent, _ = login(staff_server, "agent1")
    for path in ("/ops", "/api/ops/metrics", "/api/ops/events"):
        r = agent.get(path, headers={"Accept": "text/html"})
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"}), path
    page = ops.get("/ops")
    assert page.status_code == 200 and 'id="m-queue-waiting"' in page.text and "/static/ops.js" in page.text
    admin, _ = login(staff_server, "admin1")
    assert admin.get("/api/ops/metrics").status_code == 200
