"""Outcomes in Debian's chromium: an agent resolves in the inbox and the customer, in the real chat
widget, is asked whether it is solved and for a rating; "no" reopens it for that agent, "yes 5"
resolves it and thanks them. The same survey goes out by SMS (answered through the signed Twilio
webhook) and by email (threaded). /ops then shows the day's first-response time, resolution time,
the automation rate over confirmed resolutions, CSAT per queue and per agent, and the handoff
reasons, all from the stored outcomes and in Berlin time (the second test counts the first test's
conversation too: both run on one server, in file order).

The worker's part (the turn's survey step) is ``services.outcomes.Outcomes.take_answer`` run on the
server here; tests/integration/test_outcomes.py runs the same answers through the whole turn."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from conversation import AuthorKind, ChannelKind, ConversationStatus
from conversation.handoff_reasons import REASON_LABELS, HandoffReason
from conversation.sql.desk import DeskQueries, DeskState, ticket_label
from conversation.sql.outcomes import OutcomeStore
from conversation.sql.schema_outcomes import outcomes as outcomes_table
from conversation.survey import SurveyAnswer, not_solved_text, survey_text, thanks_text
from services.agent_desk import AgentDesk, DeskActor
from services.ops_outcomes import day_start
from services.outcomes import AnswerTaken, Outcomes
from services.timefmt import TimeFormatter
from tests.browser.live_server import LiveServer
from tests.browser.test_chat_widget import _open_demo, _send, _wait_subscribed
from tests.browser.test_desk_times import BERLIN, assert_clean, browser_page, log_in
from tests.browser.test_inbox import _sms_customer
from tests.integration.web.test_inbox_actions import RecordingRelay, desk_stack, email_inbound, ingest
from tests.support.staff import create_staff
from tests.support.twilio_api import LocalTwilioApi

AGENT2 = DeskActor("agent2", "Agent2")


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("outcomes")) as s:
        create_staff(s[0], "agent2", "agent")
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


def _take(server: LiveServer, message_id: str) -> AnswerTaken:
    """What the worker's survey step does with this customer message."""

    async def take(s):  # type: ignore[no-untyped-def]
        taken = await Outcomes(s).take_answer(await s.messages.get_message(message_id))
        assert taken is not None, "not taken as a survey answer"
        return taken.taken

    return server.call(take)


def _fresh_tab(page, url: str):  # type: ignore[no-untyped-def]
    """The same agent in a new tab at ``url`` (the old tab reloads itself on live updates)."""
    tab = page.context.new_page()
    tab.goto(url)
    page.close()
    return tab


def _ticket(server: LiveServer, cid: str) -> str:
    row = server.call(lambda s: DeskQueries(s.db).row(cid))
    assert row is not None
    return ticket_label(row.ticket_number)


def test_the_customer_answers_the_survey_in_the_chat_widget(stack, chromium_browser, new_page, contexts) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    customer = new_page(locale="en-US")
    chat = _open_demo(server, customer)
    chat.get_by_role("button", name="Chat with us").click()
    first = _send(chat, "My parcel arrived damaged")
    cid = server.call(lambda s: s.messages.get_message(first)).conversation_id
    server.call(
        lambda s: s.messages.route_conversation(cid, ConversationStatus.HANDED_OFF, queue="parcels", assignee="agent1")
    )
    _wait_subscribed(server, cid)
    server.call(
        lambda s: AgentDesk(s).reply(
            cid,
            "Sorry about that: a replacement is on its way.",
            client_id="outcome-chat-1",
            actor=DeskActor("agent1", "Agent1"),
        )
    )
    expect(chat.locator(".gd-chat-msg--agent", has_text="a replacement is on its way")).to_be_visible()

    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    page = agent.page
    page.goto(f"{server.base_url}/inbox/c/{cid}")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#conv-state")).to_have_text("resolved")

    # the customer is asked in the widget, as an info text (not an AI message)
    survey = survey_text("en", ticket=_ticket(server, cid))
    expect(chat.locator(".gd-chat-msg--system", has_text=survey)).to_be_visible()
    no = _send(chat, "no")
    assert _take(server, no) is AnswerTaken.NOT_SOLVED
    expect(chat.locator(".gd-chat-msg--system", has_text=not_solved_text("en"))).to_be_visible()
    # the agent's page refreshes itself on the live update: open again, still with agent1
    expect(page.locator("#conv-state")).to_have_text("open")
    expect(page.get_by_text("with agent1", exact=True)).to_be_visible()
    page = _fresh_tab(page, f"{server.base_url}/inbox/c/{cid}")  # no late refresh can swallow the next click

    # the agent resolves again: a new survey; "yes 5" keeps it resolved and thanks the customer
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#conv-state")).to_have_text("resolved")
    expect(chat.locator(".gd-chat-msg--system", has_text=survey)).to_have_count(2)
    yes = _send(chat, "yes 5")
    assert _take(server, yes) is AnswerTaken.SOLVED
    expect(chat.locator(".gd-chat-msg--system", has_text=thanks_text("en", SurveyAnswer(True, 5)))).to_be_visible()
    page = _fresh_tab(page, f"{server.base_url}/inbox/c/{cid}")
    expect(page.locator("#conv-state")).to_have_text("resolved")
    # the page shows both resolutions, newest first, and why it last went to a person
    resolutions = page.locator("#outcomes li")
    expect(resolutions).to_have_count(2)
    expect(resolutions.nth(0).locator(".outcome-solved")).to_have_text("solved")
    expect(resolutions.nth(0).locator(".outcome-rating")).to_have_text("5/5")
    expect(resolutions.nth(1).locator(".outcome-solved")).to_have_text("not solved")
    expect(page.locator("#conv-handoff-reason")).to_have_text(REASON_LABELS[HandoffReason.NOT_SOLVED])

    rows = server.call(lambda s: OutcomeStore(s.db).of_conversation(cid))
    assert [(r.solved, r.rating, r.resolved_by, r.human_replied) for r in rows] == [
        (False, None, "agent1", True),
        (True, 5, "agent1", True),
    ]
    assert_clean(agent)
    assert customer.page_errors == [] and customer.csp_violations == []


def test_surveys_go_out_by_sms_and_email_and_ops_shows_the_days_outcomes(stack, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    server, relay, twilio = stack
    # SMS: the automation answered; agent2 resolves; the customer answers by SMS
    sid = _sms_customer(server, "Where is my order 10023?", "+4915100000391")
    sms = server.call(lambda s: s.messages.find_message_by_external_id(ChannelKind.SMS, sid))
    assert sms is not None
    server.call(
        lambda s: s.deliverer.deliver(
            sms.conversation_id,
            "Order 10023 ships today.",
            author_kind=AuthorKind.AI,
            language="en",
            causation_id=sms.id,
        )
    )
    server.call(lambda s: AgentDesk(s).set_state(sms.conversation_id, DeskState.RESOLVED, actor=AGENT2))
    survey = survey_text("en", ticket=_ticket(server, sms.conversation_id))
    assert twilio.messages[-1]["to"] == "+4915100000391" and twilio.messages[-1]["body"].startswith(survey)
    answer_sid = _sms_customer(server, "YES 4", "+4915100000391")
    answer = server.call(lambda s: s.messages.find_message_by_external_id(ChannelKind.SMS, answer_sid))
    assert answer is not None and _take(server, answer.id) is AnswerTaken.SOLVED
    assert twilio.messages[-1]["body"].startswith(thanks_text("en", SurveyAnswer(True, 4)))

    # email: nobody replied yet; the survey threads under the customer's mail, in German
    mail = email_inbound("Meine Rücksendung ist noch nicht erstattet", sender="outcomes@example.com")
    ecid, emid = ingest(server, mail)
    server.call(lambda s: s.messages.route_conversation(ecid, ConversationStatus.OPEN, language="de"))
    server.call(lambda s: AgentDesk(s).set_state(ecid, DeskState.RESOLVED, actor=AGENT2))
    sent = relay.received()[-1]
    assert sent["To"] == "outcomes@example.com" and sent["In-Reply-To"] == mail.external_id
    body = sent.get_body(preferencelist=("plain",)).get_content()
    assert survey_text("de", ticket=_ticket(server, ecid)) in body

    # /ops: the day's figures, from the stored outcomes, in Berlin time
    ops = browser_page(chromium_browser, contexts)
    log_in(server, ops, "ops1", home="/ops")
    page = ops.page
    page.goto(server.base_url + "/ops")
    since = day_start(dt.datetime.now(dt.UTC), TimeFormatter.for_zone("Europe/Berlin"))
    expect(page.locator("#o-since")).to_have_text(since.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z"))
    # confirmed resolutions: the chat one (a person replied) and the SMS one (automation only)
    expect(page.locator("#o-automation")).to_have_text("50.0 %")
    expect(page.locator("#o-automated")).to_have_text("1")
    expect(page.locator("#o-confirmed")).to_have_text("2")
    expect(page.locator("#o-csat")).to_have_text("100.0 %")  # ratings 5 and 4
    expect(page.locator("#o-csat-avg")).to_have_text("4.50")
    expect(page.locator("#o-resolved")).to_have_text("4")
    expect(page.locator("#o-asked")).to_have_text("4")
    expect(page.locator("#o-answered")).to_have_text("3")
    expect(page.locator("#o-not-solved")).to_have_text("1")

    agents = page.locator("#csat-agents tbody tr")
    expect(agents).to_have_count(2)
    expect(agents.nth(0).locator("td")).to_have_text(["agent1", "100.0 %", "5.00", "1", "1", "1"])
    expect(agents.nth(1).locator("td")).to_have_text(["agent2", "100.0 %", "4.00", "1", "1", "0"])
    queues = page.locator("#csat-queues tbody tr")
    expect(queues.filter(has_text="parcels").locator("td").nth(1)).to_have_text("100.0 %")
    expect(queues.filter(has_text="parcels").locator("td").nth(5)).to_have_text("1")
    expect(
        page.locator("#handoff-reasons tbody tr", has_text="customer said not solved").locator("td").nth(1)
    ).to_have_text("1")

    # the times shown are the medians of what is stored
    async def stored(s):  # type: ignore[no-untyped-def]
        async with s.db.read() as conn:
            return [
                float(v)
                for v in (
                    await conn.execute(
                        select(outcomes_table.c.resolution_s).where(outcomes_table.c.resolved_at >= since)
                    )
                ).scalars()
                if v is not None
            ]

    resolution = statistics.median(server.call(stored))
    expect(page.locator("#o-resolution")).to_have_text(_secs(round(resolution, 1)))
    frt = page.locator("#o-frt")
    expect(frt).not_to_have_text("–")  # the chat and the SMS conversation were answered
    expect(page.locator("#o-unanswered")).to_have_text("1")  # the email has no reply yet
    assert_clean(ops)


def _secs(v: float) -> str:
    """The page's own formatting (web/static/ops.js ``secs``)."""
    if v < 60:
        return f"{v:.1f} s" if v < 10 else f"{v:.0f} s"
    if v < 3600:
        return f"{v / 60:.1f} min"
    return f"{v / 3600:.1f} h"
