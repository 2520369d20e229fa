"""Canned replies in Debian's chromium: an admin writes one in English and one in German with
{name}, {order_number} and {ticket}; a wrong variable is refused with the list; an agent inserts the
English one into a reply to Anna's email, filled in, and the customer gets exactly that text; the
agent of a German conversation sees only the German one. Agents cannot open the admin page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from conversation import ConversationStatus
from tests.browser.live_server import LiveServer
from tests.browser.test_desk_times import assert_clean, browser_page, log_in, ticket_of, with_person
from tests.integration.web.test_inbox_actions import RecordingRelay, desk_stack, email_inbound, wait_for
from tests.support.twilio_api import LocalTwilioApi

EN = "Hello {name}, your order {order_number} is on its way. Your ticket is {ticket}."
DE = "Hallo {name}, Ihre Bestellung {order_number} ist unterwegs. Ihre Vorgangsnummer: {ticket}."


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("desk-canned")) as s:
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


def _save(page, title: str, language: str, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Title").fill(title)
    page.get_by_label("Language").select_option(language)
    page.get_by_label("Text").fill(text)
    page.get_by_role("button", name="Save").click()


def test_admins_keep_canned_replies_and_agents_insert_them_filled_in(stack, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    server, relay, _ = stack
    admin = browser_page(chromium_browser, contexts)
    log_in(server, admin, "admin1", home="/admin/policies")
    page = admin.page
    page.goto(server.base_url + "/inbox/canned")
    _save(page, "Order on its way", "en", "Hi {name}, see {tracking}")
    expect(page.locator("#action-error")).to_have_text(
        "Unknown variable(s) {tracking}; use {name}, {order_number}, {ticket}."
    )
    _save(page, "Order on its way", "en", EN)
    expect(page.locator("#canned-list tr[data-canned-id]")).to_have_count(1)
    page.get_by_role("button", name="New").click()
    _save(page, "Bestellung unterwegs", "de", DE)
    expect(page.locator("#canned-list tr[data-canned-id]")).to_have_count(2)
    expect(page.locator("#canned-list")).to_contain_text("by admin1")
    assert_clean(admin)

    # an agent answers Anna's email with the English one
    cid, _ = with_person(
        server,
        email_inbound("Where is my order 10023? It was due on Monday.", sender="anna@example.org", name="Anna Schmidt"),
        queue="canned",
    )
    ticket = ticket_of(server, cid)
    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    apage = agent.page
    apage.goto(f"{server.base_url}/inbox/c/{cid}")
    apage.get_by_role("button", name="Take over").click()
    select = apage.get_by_label("Canned reply")
    expect(select.locator("option")).to_have_text(["Choose…", "Order on its way"])  # English only here
    select.select_option(label="Order on its way")
    apage.get_by_role("button", name="Insert").click()
    expected = f"Hello Anna Schmidt, your order 10023 is on its way. Your ticket is {ticket}."
    expect(apage.locator("#reply-text")).to_have_value(expected)
    apage.get_by_role("button", name="Send reply").click()
    expect(apage.locator(".msg-agent pre.text", has_text=expected)).to_be_visible()
    sent = wait_for(lambda: [m for m in relay.received() if m["To"] == "anna@example.org"], what="the email")
    assert expected in sent[-1].get_body(preferencelist=("plain",)).get_content()

    # a German conversation offers the German one; without an order number {order_number} stays visible
    de_cid, _ = with_person(
        server,
        email_inbound("Hallo, wann kommt meine Lieferung?", sender="jonas@example.de", name="Jonas"),
        queue="canned",
    )
    server.call(lambda s: s.messages.route_conversation(de_cid, ConversationStatus.HANDED_OFF, language="de"))
    apage.goto(f"{server.base_url}/inbox/c/{de_cid}")
    apage.get_by_role("button", name="Take over").click()
    select = apage.get_by_label("Canned reply")
    expect(select.locator("option")).to_have_text(["Choose…", "Bestellung unterwegs"])
    select.select_option(label="Bestellung unterwegs")
    apage.get_by_role("button", name="Insert").click()
    expect(apage.locator("#reply-text")).to_have_value(
        f"Hallo Jonas, Ihre Bestellung {{order_number}} ist unterwegs. Ihre Vorgangsnummer: {ticket_of(server, de_cid)}."
    )
    # agents cannot manage them: the admin page answers like a missing one
    response = apage.goto(server.base_url + "/inbox/canned")
    assert response is not None and response.status == 404
    assert_clean(agent)
