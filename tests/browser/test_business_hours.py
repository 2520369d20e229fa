"""Business hours as a person sees them in Chromium (issue 12, item 7).

A customer asks for a person on a Friday at 19:00 Berlin time. The turn's real handoff step runs at
that time: the inbox shows the first-response due on Monday at 12:00 (08:00 opening plus four
business hours, not 23:00 on Friday), and the acknowledgement the customer got by SMS, also shown in
the conversation, names Monday 08:00 as when the team is back. Then a handoff from last Friday evening
is answered by an agent in the inbox: its due moves to the resolution timer (24 business hours from
the handoff), and the first response is not reset by anything that happened meanwhile."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from conversation.handoff_reasons import REASON_LABELS, handoff_reason
from conversation.replies import opening_time
from flows.steps import hand_off
from flows.turn_work import TurnDeps, TurnWork
from tests.browser.test_desk_times import assert_clean, browser_page, log_in
from tests.integration.web.test_inbox_actions import desk_stack, ingest, sms_inbound
from tests.support.twilio_api import LocalTwilioApi

BERLIN = ZoneInfo("Europe/Berlin")


def shown(ts: dt.datetime) -> str:
    return ts.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z")


def friday_evening(*, weeks: int) -> dt.datetime:
    """19:00 Berlin on the Friday ``weeks`` weeks from this week's (0: the coming one, -1: the last)."""
    today = dt.datetime.now(BERLIN).date()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 or 7) + dt.timedelta(weeks=weeks)
    if weeks < 0 and friday >= today:
        friday -= dt.timedelta(weeks=1)
    return dt.datetime(friday.year, friday.month, friday.day, 19, 0, tzinfo=BERLIN)


def monday_after(friday: dt.datetime, hour: int) -> dt.datetime:
    day = friday.date() + dt.timedelta(days=3)
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=BERLIN)


def run_handoff(server: Any, number: str, text: str, *, at: dt.datetime) -> tuple[str, str]:
    """A customer SMS through the channel edge, then the turn's own handoff step at ``at``."""
    cid, mid = ingest(server, sms_inbound(text, number))

    async def step(services):  # type: ignore[no-untyped-def]
        work = TurnWork(
            message_id=mid,
            conversation_id=cid,
            message=await services.messages.get_message(mid),
            conversation=await services.messages.get_conversation(cid),
            language="en",
        )
        # hand_off uses only the process container; the turn kit (models, knowledge) is not needed
        await hand_off(TurnDeps(services=services, kit=cast(Any, None)), work, reason="asked for a person", now=at)

    server.call(step)
    return cid, mid


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("business-hours")) as s:
        yield s


@pytest.fixture
def contexts() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for context in made:
        context.close()


def test_a_friday_evening_handoff_is_due_monday_and_the_customer_is_told_when(
    stack, chromium_browser, contexts
) -> None:  # type: ignore[no-untyped-def]
    server, _, twilio = stack
    twilio = cast(LocalTwilioApi, twilio)
    assert server.settings.business_hours == "08:00-18:00" and server.settings.timezone == "Europe/Berlin"
    friday = friday_evening(weeks=0)
    due, opening = monday_after(friday, 12), monday_after(friday, 8)
    cid, _ = run_handoff(server, "+4915100007001", "I want to talk to a person please", at=friday)

    # the customer's SMS names the time the team is back
    when = opening_time(opening, "en")  # "Monday, 7 December 2026 at 08:00 CET"
    assert when.startswith("Monday, ") and "08:00 CE" in when
    sms = [m for m in twilio.messages if m["to"] == "+4915100007001"]
    assert sms and f"our team is back on {when}" in sms[-1]["body"], sms

    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    page = agent.page
    page.goto(server.base_url + "/inbox?queue=general")
    row = page.locator(f"tr[data-conversation-id='{cid}']")
    expect(row.locator(".sla time")).to_have_text(shown(due))  # Monday 12:00, not Friday 23:00
    page.goto(f"{server.base_url}/inbox/c/{cid}")
    expect(page.locator("#conv-sla-time")).to_have_text(shown(due))
    expect(page.locator("main")).to_contain_text(f"We are closed right now; our team is back on {when}")
    assert_clean(agent)


def test_an_agent_reply_moves_the_due_to_resolution_and_leaves_the_first_response(  # type: ignore[no-untyped-def]
    stack, chromium_browser, contexts
) -> None:
    server = stack[0]
    friday = friday_evening(weeks=-1)
    cid, _ = run_handoff(server, "+4915100007002", "Please let a person call me back", at=friday)
    first_due = monday_after(friday, 12)
    resolution_due = monday_after(friday, 12) + dt.timedelta(days=2)  # Mon 10 h + Tue 10 h + Wed 08-12

    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    page = agent.page
    page.goto(f"{server.base_url}/inbox/c/{cid}")
    expect(page.locator("#conv-sla-time")).to_have_text(shown(first_due))
    page.get_by_role("button", name="Take over").click()
    page.locator("#reply-text").fill("Hello, I will call you this afternoon.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".msg-agent pre.text", has_text="I will call you this afternoon")).to_be_visible()
    page.reload()
    expect(page.locator("#conv-sla-time")).to_have_text(shown(resolution_due))
    # the three timers, each with its own state and time, in the operator's zone
    expect(page.locator("#sla-timers tbody tr")).to_have_count(3)
    first = page.locator("#sla-timers tr[data-timer='first_response']")
    expect(first.locator(".badge")).to_have_text("missed")  # answered after Monday noon
    expect(page.locator("#sla-timers tr[data-timer='resolution'] time")).to_have_text(shown(resolution_due))
    expect(page.locator("#conv-handoff-reason")).to_have_text(REASON_LABELS[handoff_reason("asked for a person")])

    from conversation.sql.sla_store import SqlSlaClocks

    timers = server.call(lambda s: SqlSlaClocks(s.db).timers(cid))
    assert timers.first_response.due_at == first_due  # missed (answered after Monday noon), never reset
    assert timers.first_response.stopped_at is not None and timers.resolution.due_at == resolution_due
    assert_clean(agent)
