"""Times in the operator's zone (GLASSDESK_TIMEZONE, default Europe/Berlin) as a person sees them in
Debian's chromium, with the browser itself set to Tokyo time so browser-local formatting would show:
the inbox list and conversation, the customer's status page (with the ticket number to quote) and /ops.

The helpers here are shared by the other ``test_desk_*`` browser modules."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from conversation import ActorKind, ConversationStatus, EventType, InboundMessage, Priority, TimelineEvent
from conversation.sql.desk_store import DeskStore
from tests.browser.conftest import PAGE_TIMEOUT_MS, TrackedPage
from tests.browser.live_server import LiveServer
from tests.integration.web.test_inbox_actions import RecordingRelay, desk_stack, email_inbound, ingest, sms_inbound
from tests.support.twilio_api import LocalTwilioApi

BERLIN = ZoneInfo("Europe/Berlin")
BROWSER_ZONE = "Asia/Tokyo"  # far from Berlin and from the server's UTC


def berlin(ts: dt.datetime) -> str:
    """What the pages must show: the Berlin wall clock with its abbreviation (CET or CEST)."""
    return ts.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z")


# -- shared helpers -----------------------------------------------------------------------------------
def browser_page(chromium_browser, contexts: list) -> TrackedPage:  # type: ignore[no-untyped-def,type-arg]
    context = chromium_browser.new_context(locale="en-US", timezone_id=BROWSER_ZONE)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    contexts.append(context)
    page = context.new_page()
    tracked = TrackedPage(page=page)
    page.on("console", lambda msg: tracked.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: tracked.page_errors.append(str(exc)))
    return tracked


def log_in(server: LiveServer, tracked: TrackedPage, username: str, *, home: str = "/inbox") -> None:
    page = tracked.page
    page.goto(server.base_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"{username}-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.base_url + home)


def with_person(
    server: LiveServer,
    inbound: InboundMessage,
    *,
    queue: str,
    sla: dt.timedelta = dt.timedelta(hours=2),
    priority: Priority = Priority.NORMAL,
    due: dt.datetime | None = None,
) -> tuple[str, str]:
    """A customer message through the shared channel edge, handed to a person in ``queue``."""
    cid, mid = ingest(server, inbound)
    server.call(
        lambda s: s.messages.route_conversation(
            cid,
            ConversationStatus.HANDED_OFF,
            queue=queue,
            priority=priority,
            sla_due_at=due or dt.datetime.now(dt.UTC) + sla,
        )
    )
    return cid, mid


def ticket_of(server: LiveServer, cid: str) -> str:
    number = server.call(lambda s: DeskStore(s.db).ticket_number(cid))
    assert number is not None and number >= 10001
    return f"GD-{number}"


def assert_clean(tracked: TrackedPage) -> None:
    assert tracked.page_errors == [], tracked.page_errors
    assert tracked.csp_violations == [], tracked.console_errors


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("desk-times")) as s:
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


# -- the test -----------------------------------------------------------------------------------------
def test_every_time_a_person_reads_is_in_the_operators_zone(stack, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    assert server.settings.timezone == "Europe/Berlin"
    due = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=3)
    cid, mid = with_person(
        server, sms_inbound("Wo ist meine Bestellung 10023?", "+4915100000101"), queue="times", due=due
    )
    received = dt.datetime(2026, 7, 1, 12, 34, tzinfo=dt.UTC)  # summer: Berlin is on CEST then
    server.call(
        lambda s: s.timeline.add_event(
            TimelineEvent(
                conversation_id=cid,
                type=EventType.RECEIVED,
                actor=ActorKind.SYSTEM,
                causation_id=mid,
                occurred_at=received,
            )
        )
    )
    ticket = ticket_of(server, cid)

    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    page = agent.page
    page.goto(server.base_url + "/inbox?queue=times")
    row = page.locator(f"tr[data-conversation-id='{cid}']")
    expect(row.locator(".sla time")).to_have_text(berlin(due))
    expect(row.locator(".ticket")).to_have_text(ticket)
    expect(page.get_by_text("Times in Europe/Berlin.")).to_be_visible()
    assert "UTC" not in row.inner_text()

    message = server.call(lambda s: s.messages.get_message(mid))
    page.goto(f"{server.base_url}/inbox/c/{cid}")
    expect(page.locator(f"li[data-message-id='{mid}'] .meta time")).to_have_text(berlin(message.created_at))
    expect(page.locator("#conv-sla-time")).to_have_text(berlin(due))
    expect(page.locator("#conv-ticket")).to_have_text(ticket)
    expect(page.locator(".events li.event-received time").first).to_have_text("2026-07-01 14:34 CEST")
    assert "UTC" not in page.locator("main").inner_text()
    assert_clean(agent)

    # the customer's status page: the ticket number to quote, and the step in Berlin time
    token = server.call(lambda s: s.messages.get_conversation(cid)).status_token
    customer = browser_page(chromium_browser, contexts)
    customer.page.goto(f"{server.base_url}/status/{token}")
    expect(customer.page.locator("#ticket")).to_have_text(
        f"Your ticket number: {ticket}. Please quote it when you write to us."
    )
    expect(customer.page.locator("#steps time").first).to_have_text("14:34 CEST")
    expect(customer.page.get_by_text("All times in Europe/Berlin.")).to_be_visible()
    assert "UTC" not in customer.page.locator("main").inner_text()
    assert_clean(customer)

    # /ops: the "updated" clock is the server's Berlin time, not the browser's Tokyo time
    ops = browser_page(chromium_browser, contexts)
    log_in(server, ops, "ops1", home="/ops")
    status = ops.page.locator("#live-status")
    expect(status).to_have_text(re.compile(r"Live · updated \d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST)"))
    shown = status.inner_text().removeprefix("Live · updated ")
    now = dt.datetime.now(dt.UTC)
    assert shown in {berlin(now + dt.timedelta(minutes=k)) for k in (-2, -1, 0, 1)}, shown
    assert_clean(ops)


def test_a_bad_time_zone_setting_is_refused_with_the_fix() -> None:
    from services.timefmt import TimeFormatter, UnknownTimeZone

    with pytest.raises(UnknownTimeZone, match="GLASSDESK_TIMEZONE='Mars/Base'.*Europe/Berlin"):
        TimeFormatter.for_zone("Mars/Base")
    assert TimeFormatter.for_zone("Europe/Berlin").full(dt.datetime(2026, 12, 2, 13, 5, tzinfo=dt.UTC)) == (
        "2026-12-02 14:05 CET"
    )


__all__ = ["berlin", "browser_page", "log_in", "with_person", "ticket_of", "assert_clean", "email_inbound"]
