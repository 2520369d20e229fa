"""The customer's status page names the next step and when it is expected, in Debian's chromium (the
browser set to Tokyo time, the operator in Europe/Berlin): "a person from our team will answer" with
the SLA due of the timer that counts, "waiting for your reply" once an agent sets the conversation
pending (live, without a reload), and "later than planned" instead of a past time. Never a queue name,
an agent's name or an internal note."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from conversation import ActorKind, ConversationStatus, EventType, Priority, TimelineEvent
from services.settings import Settings
from services.sla import plan_handoff, start_clock
from tests.browser.live_server import LiveServer, live_server
from tests.browser.test_desk_times import assert_clean, browser_page, log_in
from tests.integration.web.test_inbox_actions import ingest, sms_inbound
from tests.support.staff import create_staff, forget_login_attempts

BERLIN = ZoneInfo("Europe/Berlin")
_WEEKDAYS_DE = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


def _german(ts: dt.datetime) -> str:
    """How the page writes a time in German, in Berlin: 'Mittwoch, 03.12.2026, 13:50 Uhr (CET)'."""
    local = ts.astimezone(BERLIN)
    return f"{_WEEKDAYS_DE[local.weekday()]}, {local:%d.%m.%Y}, {local:%H:%M} Uhr ({local:%Z})"


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("status-next")
    # open around the clock, so the due is the handoff plus its target whatever time the test runs
    with live_server(
        lambda base: Settings(
            var_dir=var_dir, redis_url=redis_url, public_url=base, business_hours="mon-sun 00:00-24:00"
        )
    ) as s:
        create_staff(s, "agent1", "agent")
        forget_login_attempts(s)
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


def _status_url(server: LiveServer, cid: str) -> str:
    token = server.call(lambda s: s.messages.get_conversation(cid)).status_token
    return f"{server.base_url}/status/{token}"


def test_the_next_step_and_its_due_then_waiting_for_the_customer(server, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    cid, mid = ingest(server, sms_inbound("Wo ist meine Bestellung 10023?", "+4915100001301"))
    server.call(
        lambda s: s.messages.route_conversation(
            cid, ConversationStatus.HANDED_OFF, queue="billing-internal", priority=Priority.NORMAL,
            assignee="agent1", language="de",
        )
    )  # fmt: skip
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    plan = plan_handoff(
        server.settings, queue="billing-internal", priority=Priority.NORMAL, sla_minutes=20 * 60, now=start
    )
    server.call(lambda s: start_clock(s.db, cid, plan=plan, new_episode_since=None))
    due = start + dt.timedelta(hours=20)  # first response: 20 business hours (before the 24 h resolution)
    for kind, data in (
        (EventType.LOOKED_UP, {"checked": [{"kind": "order", "ref": "10023", "state": "shipped", "carrier": "DHL",
                                             "shipment": "in_transit"}]}),
        (EventType.HANDED_OFF, {"queue": "billing-internal", "reason": "customer asked for a person"}),
        (EventType.NOTE_ADDED, {"by": "agent1", "text": "VIP, Nachname Schmidt-Internal"}),
    ):  # fmt: skip
        event = TimelineEvent(conversation_id=cid, type=kind, actor=ActorKind.AI, causation_id=mid, data=data)
        server.call(lambda s, e=event: s.timeline.add_event(e))

    customer = browser_page(chromium_browser, contexts)
    page = customer.page
    page.goto(_status_url(server, cid))
    box = page.locator("#next-step")
    expect(box.locator("h2")).to_have_text("Nächster Schritt")
    expect(page.locator("#next-text")).to_have_text("Eine Person aus unserem Team antwortet Ihnen.")
    expect(page.locator("#next-expected")).to_have_text(f"Voraussichtlich bis {_german(due)}.")
    expect(page.locator("#next-expected time")).to_have_attribute("datetime", due.isoformat())
    expect(page.locator("#next-back")).to_be_hidden()  # open around the clock
    expect(page.locator("#steps")).to_contain_text("Bestellung 10023")  # what was done, beside what comes
    text = page.locator("main").inner_text()
    for hidden in ("billing-internal", "agent1", "Agent1", "Schmidt-Internal", "VIP"):
        assert hidden not in text, hidden
    assert "„Mensch“" not in text  # a person has it: no "reply 'Mensch'" hint
    assert_clean(customer)

    # an agent sets it pending in the inbox: the open page says so without a reload, and promises no time
    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    agent.page.goto(f"{server.base_url}/inbox/c/{cid}")
    agent.page.get_by_role("button", name="Set pending").click()
    expect(page.locator("#next-text")).to_have_text(
        "Wir warten auf Ihre Antwort. Antworten Sie einfach auf unsere letzte Nachricht."
    )
    expect(page.locator("#next-expected")).to_be_hidden()
    expect(box).to_have_attribute("data-kind", "waiting_for_you")
    assert_clean(customer)
    assert_clean(agent)


def test_a_passed_due_is_never_shown_as_a_promise(server, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    cid, _mid = ingest(server, sms_inbound("Hello, my parcel is late", "+4915100001302"))
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    server.call(
        lambda s: s.messages.route_conversation(
            cid, ConversationStatus.HANDED_OFF, queue="general", priority=Priority.NORMAL, sla_due_at=past,
            language="en",
        )
    )  # fmt: skip
    customer = browser_page(chromium_browser, contexts)
    customer.page.goto(_status_url(server, cid))
    expect(customer.page.locator("#next-step h2")).to_have_text("Next step")
    expect(customer.page.locator("#next-text")).to_have_text("A person from our team will answer you.")
    expect(customer.page.locator("#next-expected")).to_have_text(
        "We are later than planned; a person answers as soon as possible."
    )
    expect(customer.page.locator("#next-expected time")).to_have_count(0)
    assert_clean(customer)
