"""The desk's lifecycle and assignment in Debian's chromium: resolve from the list and from the
conversation, pending stops the SLA clock, a snooze until a Berlin time, a real chat reply reopens,
close; assign to another agent, the mine / unassigned / queue views, move to a queue, and the
collision notice when two agents open the same conversation. Each change is in the audit log."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from conversation import ConversationStatus
from conversation.sql import schema as t
from conversation.sql.desk import DeskQueries, DeskState
from services.sla import calendars
from tests.browser.live_server import LiveServer
from tests.browser.test_desk_times import BERLIN, assert_clean, browser_page, log_in, with_person
from tests.browser.test_inbox import _chat_customer, _frame
from tests.integration.web.test_inbox_actions import RecordingRelay, desk_stack, sms_inbound
from tests.support.staff import create_staff
from tests.support.twilio_api import LocalTwilioApi


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("desk-lifecycle")) as s:
        create_staff(s[0], "agent2", "agent")
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


def _row(server: LiveServer, cid: str):  # type: ignore[no-untyped-def]
    row = server.call(lambda s: DeskQueries(s.db).row(cid))
    assert row is not None
    return row


def _audit(server: LiveServer, cid: str, action: str) -> list[dict]:  # type: ignore[type-arg]
    async def read(services):  # type: ignore[no-untyped-def]
        async with services.db.read() as conn:
            rows = await conn.execute(
                select(t.audit_log.c.actor, t.audit_log.c.data)
                .where(t.audit_log.c.object_id == cid, t.audit_log.c.action == action)
                .order_by(t.audit_log.c.seq)
            )
            return [{"actor": r.actor, **(r.data or {})} for r in rows]

    return server.call(read)


def test_resolve_pending_snooze_reopen_and_close(stack, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    ws, first = _chat_customer(server, "My claim 88123 was damaged in transit")
    try:
        cid = server.call(lambda s: s.messages.get_message(first)).conversation_id
        server.call(
            lambda s: s.messages.route_conversation(
                cid,
                ConversationStatus.HANDED_OFF,
                queue="life",
                sla_due_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
            )
        )
        agent = browser_page(chromium_browser, contexts)
        log_in(server, agent, "agent1")
        page = agent.page
        page.goto(server.base_url + "/inbox?queue=life")
        row = page.locator(f"tr[data-conversation-id='{cid}']")
        expect(row.locator(".state")).to_have_text("open")

        # resolve from the list: it leaves "Waiting for people" at once, and its SLA clock stops
        row.get_by_role("button", name="Resolve").click()
        expect(row).to_have_count(0)
        stored = _row(server, cid)
        assert stored.desk_state is DeskState.RESOLVED and stored.sla_due_at is None
        assert stored.sla_remaining_s is not None and 7000 < stored.sla_remaining_s <= 7200
        page.goto(server.base_url + "/inbox?queue=life&state=resolved")
        expect(row.locator(".state")).to_have_text("resolved")
        expect(row.locator(".sla")).to_contain_text("SLA paused")

        # the customer answers on the real chat socket: the conversation is open again, clock running
        ws.send(json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": "It is still broken"}))
        _frame(ws, "ack")
        page.goto(server.base_url + "/inbox?queue=life")
        expect(row.locator(".state")).to_have_text("open")
        expect(row.locator(".sla .badge")).to_have_text("SLA")
        # resumed in business time: the time that was left, counted in the queue's calendar
        reopened_at = dt.datetime.now(dt.UTC)
        expected = calendars(server.settings).for_queue("life").add(reopened_at, stored.sla_remaining_s)
        drift = abs((_row(server, cid).sla_due_at - expected).total_seconds())
        assert drift < 120, drift

        # from the conversation: resolve, reopen, pending (clock stops), snooze until a Berlin time
        page.goto(f"{server.base_url}/inbox/c/{cid}")
        state = page.locator("#conv-state")
        page.get_by_role("button", name="Resolve").click()
        expect(state).to_have_text("resolved")
        page.get_by_role("button", name="Reopen").click()
        expect(state).to_have_text("open")
        page.get_by_role("button", name="Set pending").click()
        expect(state).to_have_text("pending (waiting on the customer)")
        expect(page.locator("#conv-sla")).to_have_text("SLA paused")
        expect(page.locator("#conv-sla-time")).to_have_text(re.compile(r"^(1 h 5\d|2 h 0) min left$"))

        tomorrow = (dt.datetime.now(BERLIN) + dt.timedelta(days=1)).date()
        page.locator("#snooze-until").fill(f"{tomorrow.isoformat()}T08:30")
        page.get_by_role("button", name="Snooze").click()
        until = dt.datetime.combine(tomorrow, dt.time(8, 30), tzinfo=BERLIN)
        expect(state).to_have_text(f"snoozed until {until.strftime('%Y-%m-%d %H:%M %Z')}")
        assert _row(server, cid).snoozed_until == until.astimezone(dt.UTC)
        page.goto(server.base_url + "/inbox?queue=life")
        expect(row).to_have_count(0)  # snoozed: out of the waiting list until 08:30 Berlin time
        # ... and back by itself once that time has passed
        later = until.astimezone(dt.UTC) + dt.timedelta(minutes=1)
        assert server.call(lambda s: DeskQueries(s.db).row(cid, now=later)).desk_state is DeskState.OPEN

        page.goto(f"{server.base_url}/inbox/c/{cid}")
        page.get_by_role("button", name="Reopen").click()
        expect(state).to_have_text("open")
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name="Close").click()
        expect(state).to_have_text("closed")
        expect(page.get_by_role("button", name="Reopen")).to_have_count(0)
        assert server.call(lambda s: s.messages.get_conversation(cid)).status.value == "closed"

        changes = [(a["from"], a["to"]) for a in _audit(server, cid, "inbox.state_changed")]
        assert changes == [
            ("open", "resolved"),
            ("open", "resolved"),
            ("resolved", "open"),
            ("open", "pending"),
            ("pending", "snoozed"),
            ("snoozed", "open"),
            ("open", "closed"),
        ]
        assert_clean(agent)
    finally:
        ws.close()


def test_assign_to_an_agent_views_and_move_to_a_queue(stack, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    a, _ = with_person(server, sms_inbound("Rechnung doppelt abgebucht", "+4915100000201"), queue="assign")
    b, _ = with_person(server, sms_inbound("Adresse ändern bitte", "+4915100000202"), queue="assign")
    agent1 = browser_page(chromium_browser, contexts)
    log_in(server, agent1, "agent1")
    page = agent1.page
    page.goto(f"{server.base_url}/inbox/c/{a}")
    page.locator("#assign-to").select_option("agent2")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator(".badge.agent")).to_have_text("with agent2")

    page.goto(server.base_url + "/inbox?view=unassigned")
    expect(page.locator(f"tr[data-conversation-id='{b}']")).to_have_count(1)
    expect(page.locator(f"tr[data-conversation-id='{a}']")).to_have_count(0)
    page.goto(server.base_url + "/inbox?view=mine")
    expect(page.locator(f"tr[data-conversation-id='{a}']")).to_have_count(0)

    agent2 = browser_page(chromium_browser, contexts)
    log_in(server, agent2, "agent2")
    agent2.page.goto(server.base_url + "/inbox?view=mine")
    mine = agent2.page.locator("#rows tr[data-conversation-id]")
    expect(mine).to_have_count(1)
    expect(mine.first).to_have_attribute("data-conversation-id", a)
    expect(agent2.page.locator("#count-mine")).to_have_text("1")

    # both open the same conversation: each is told the other is there
    page.goto(f"{server.base_url}/inbox/c/{a}")
    expect(page.locator("#collision")).to_be_hidden()
    agent2.page.goto(f"{server.base_url}/inbox/c/{a}")
    expect(agent2.page.locator("#collision")).to_have_text(
        "agent1 is also looking at this conversation. Agree who answers before you write."
    )
    page.reload()
    expect(page.locator("#collision")).to_have_text(
        "agent2 is also looking at this conversation. Agree who answers before you write."
    )

    # move the other one to another queue: it waits there, unassigned
    page.goto(f"{server.base_url}/inbox/c/{b}")
    page.locator("#move-queue").fill("claims-2")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_text("queue: claims-2")).to_be_visible()
    page.goto(server.base_url + "/inbox?queue=claims-2")
    row = page.locator(f"tr[data-conversation-id='{b}']")
    expect(row.locator(".assignee")).to_have_text("")
    expect(page.locator("#queue-list a[aria-current='true']")).to_have_text("claims-2")
    page.goto(server.base_url + "/inbox?queue=assign")
    expect(page.locator(f"tr[data-conversation-id='{b}']")).to_have_count(0)

    # an unknown agent is refused with the reason, nothing changes
    page.goto(f"{server.base_url}/inbox/c/{b}")
    page.evaluate(
        "() => { const o = document.createElement('option'); o.value = 'nobody'; o.textContent = 'nobody';"
        " document.getElementById('assign-to').appendChild(o); }"
    )
    page.locator("#assign-to").select_option("nobody")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator("#action-error")).to_have_text("There is no agent called 'nobody'.")

    assert _audit(server, a, "inbox.assigned") == [{"actor": "agent1", "from": "", "to": "agent2"}]
    assert _audit(server, b, "inbox.moved") == [{"actor": "agent1", "from": "assign", "to": "claims-2", "assignee": ""}]
    assert_clean(agent1)
    assert_clean(agent2)
