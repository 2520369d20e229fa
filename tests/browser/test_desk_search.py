"""Search, ticket numbers, sorting and keyset pages of the inbox in Debian's chromium: an order number
from an SMS, a customer's name from an email, a ticket number as a customer quotes it; a deleted
message is no longer found; 53 conversations page as 50 + 3 with none twice; sorting by SLA and by
last update."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete

from conversation import ConversationStatus, Priority
from conversation.sql import schema as t
from conversation.sql.desk import DeskState
from services.agent_desk import AgentDesk, DeskActor
from tests.browser.live_server import LiveServer
from tests.browser.test_desk_times import assert_clean, browser_page, log_in, ticket_of, with_person
from tests.integration.web.test_inbox_actions import RecordingRelay, desk_stack, email_inbound, sms_inbound
from tests.support.twilio_api import LocalTwilioApi


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("desk-search")) as s:
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


def _search(page, text: str) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_role("searchbox", name="Search")
    box.fill(text)
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("load")


def _ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#rows tr[data-conversation-id]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-conversation-id'))"
    )


def test_search_by_order_number_name_and_ticket_and_erasure_reaches_the_index(  # type: ignore[no-untyped-def]
    stack, chromium_browser, contexts
) -> None:
    server = stack[0]
    sms, sms_mid = with_person(server, sms_inbound("Wo ist meine Bestellung 10023?", "+4915100000301"), queue="s")
    mail, _ = with_person(
        server,
        email_inbound("Mein Schaden 7731 ist noch offen", sender="anna@example.org", name="Anna Schmidt"),
        queue="s",
    )
    other, _ = with_person(server, sms_inbound("Hello, anyone?", "+4915100000302"), queue="s")
    mail_ticket = ticket_of(server, mail)

    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    page = agent.page
    expect(page.locator(f"tr[data-conversation-id='{mail}'] .ticket")).to_have_text(mail_ticket)

    _search(page, "10023")
    assert _ids(page) == [sms]
    expect(page.locator("h1")).to_have_text("Search: 10023")
    _search(page, "schmidt")
    assert _ids(page) == [mail]
    _search(page, "Schaden 7731")
    assert _ids(page) == [mail]
    _search(page, mail_ticket.lower().replace("-", " "))  # "gd 10042", as a customer might write it
    assert _ids(page) == [mail]
    _search(page, mail_ticket)
    assert _ids(page) == [mail]
    # a resolved conversation is found too: searching covers every state
    server.call(lambda s: AgentDesk(s).set_state(other, DeskState.RESOLVED, actor=DeskActor("agent1", "Agent1")))
    _search(page, "anyone")
    assert _ids(page) == [other]
    expect(page.locator(f"tr[data-conversation-id='{other}'] .state")).to_have_text("resolved")

    # the message goes (erasure and retention delete the row): the index forgets it with it
    async def erase(services):  # type: ignore[no-untyped-def]
        async with services.db.begin() as conn:
            await conn.execute(delete(t.messages).where(t.messages.c.id == sms_mid))

    server.call(erase)
    _search(page, "10023")
    assert _ids(page) == []
    expect(page.locator("#rows tr.empty")).to_have_text("Nothing matches this search.")
    assert_clean(agent)


def test_keyset_pages_and_sorting(stack, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    made = []
    for i in range(53):
        due = now + dt.timedelta(minutes=60 + (i * 37) % 53)
        cid, _ = with_person(
            server,
            sms_inbound(f"Frage Nummer {i}", f"+49152000{i:05d}"),
            queue="bulk",
            due=due,
            priority=Priority.HIGH if i % 10 == 0 else Priority.NORMAL,
        )
        made.append((due, cid))
    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    page = agent.page

    page.goto(server.base_url + "/inbox?queue=bulk&sort=sla")
    first = _ids(page)
    assert len(first) == 50
    page.get_by_role("link", name="Next page →").click()
    page.wait_for_load_state("load")
    second = _ids(page)
    assert len(second) == 3 and not set(first) & set(second)
    assert first + second == [cid for _, cid in sorted(made)]  # the earliest SLA first, all 53 once
    assert sorted(first + second) == sorted(cid for _, cid in made)
    times = page.locator("#rows .sla time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    assert times == sorted(times)
    expect(page.get_by_role("link", name="Next page →")).to_have_count(0)
    page.get_by_role("link", name="← First page").click()
    page.wait_for_load_state("load")
    assert _ids(page) == first

    # priority (the default): the high ones first
    page.goto(server.base_url + "/inbox?queue=bulk")
    high = {cid for i, (_, cid) in enumerate(made) if i % 10 == 0}
    assert set(_ids(page)[: len(high)]) == high

    # last update: a conversation that just changed comes first
    touched = made[7][1]
    server.call(lambda s: s.messages.route_conversation(touched, ConversationStatus.HANDED_OFF))
    page.locator("select[name=sort]").select_option("updated")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("load")
    assert _ids(page)[0] == touched
    updated = page.locator("#rows .updated time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    assert updated == sorted(updated, reverse=True)
    assert_clean(agent)
