"""The customer panel in Debian's chromium (issue 12, item 4), the story an agent and a customer live:

Anna Schmidt writes by SMS and by email. Her SMS conversation names her (not "Unknown customer"),
shows her orders, contracts and her open claim from the back office, and suggests her email contact
as the same person, with the evidence, but refuses the merge while the email address is unverified.
The agent sends the email sender a code; Anna opens the status page from that email, enters the code
and sees it confirmed. Now her email conversation shows her records too, the merge goes through (both
conversations under one customer) and the agent undoes it again: two contacts, history kept."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from conversation import ChannelKind, EmailAddress, InboundMessage, PhoneAddress
from knowledge.backoffice import seed_backoffice
from services.ingest import Ingestor
from tests.browser.conftest import TrackedPage
from tests.browser.live_server import LiveServer
from tests.integration.web.test_inbox_actions import RecordingRelay, desk_stack
from tests.support.navigation import goto_settled

ANNA_PHONE = "+4915112345678"
ANNA_EMAIL = "anna.schmidt@example.com"
CODE = re.compile(r"\b(\d{6})\b")
STATUS_LINK = re.compile(r"(https?://\S+/status/[\w-]+)")


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, RecordingRelay]]:
    var_dir = tmp_path_factory.mktemp("customer-panel")
    asyncio.run(seed_backoffice(var_dir / "backoffice.db"))
    with desk_stack(redis_url, var_dir) as (server, relay, _twilio):
        yield server, relay


def _ingest(server: LiveServer, inbound: InboundMessage) -> str:
    async def accept(services: Any) -> str:
        return (await Ingestor(services).accept(inbound)).conversation.id

    return server.call(accept)


def _agent(server: LiveServer, new_page: Any) -> TrackedPage:
    tracked: TrackedPage = new_page()
    page = tracked.page
    page.on("dialog", lambda d: d.accept())  # the merge and undo confirmations
    page.goto(server.base_url + "/login")
    page.fill("input[name=username]", "agent1")
    page.fill("input[name=password]", "agent1-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.base_url + "/inbox")
    return tracked


def _code_mail(relay: RecordingRelay) -> str:
    for _ in range(500):
        for m in reversed(relay.received()):
            if ANNA_EMAIL in str(m["To"]).lower():
                return str(m.get_body(preferencelist=("plain",)).get_content())
        import time

        time.sleep(0.02)
    raise AssertionError(f"no code email reached {ANNA_EMAIL}")


def test_anna_across_sms_and_email_verify_merge_and_undo(stack, new_page) -> None:  # type: ignore[no-untyped-def]
    server, relay = stack
    sms = _ingest(
        server,
        InboundMessage(
            channel=ChannelKind.SMS,
            external_id="SM" + uuid.uuid4().hex,
            address=PhoneAddress(number=ANNA_PHONE),
            text="Wo ist meine Bestellung 10023?",
        ),
    )
    mail = _ingest(
        server,
        InboundMessage(
            channel=ChannelKind.EMAIL,
            external_id=f"<{uuid.uuid4()}@mail.example.com>",
            address=EmailAddress(address=ANNA_EMAIL),
            text="Wie steht es um meinen Wasserschaden?",
        ),
    )
    agent = _agent(server, new_page)
    page = agent.page

    # -- the SMS conversation: Anna, verified by the carrier, with her records ---------------------------
    goto_settled(page, f"{server.base_url}/inbox/c/{sms}")
    expect(page.locator("h1")).to_have_text("Anna Schmidt")
    panel = page.locator("#customer-panel")
    expect(panel.locator("#bo-match")).to_contain_text("CUST-1001")
    expect(panel.locator("#panel-identities li")).to_have_count(1)
    expect(panel.locator("#panel-identities")).to_contain_text("verified (carrier)")
    expect(panel.locator("#records-orders")).to_contain_text("10023")
    expect(panel.locator("#records-orders")).to_contain_text("shipped")
    expect(panel.locator("#records-contracts")).to_contain_text("POL-100234")
    claims = panel.locator("#records-claims")
    expect(claims).to_contain_text("-0001")
    expect(claims).to_contain_text("awaiting documents")
    expect(claims).to_contain_text("photos")
    suggestion = panel.locator(".suggestion")
    expect(suggestion).to_have_count(1)
    expect(suggestion).to_contain_text(ANNA_EMAIL)
    expect(suggestion).to_contain_text("Back-office customer CUST-1001 lists this contact's phone")
    expect(suggestion.locator(".blocked")).to_contain_text("Send that address a verification code")
    expect(suggestion.get_by_role("button", name="Merge into this customer")).to_be_disabled()

    # -- the email conversation: a claim only, no records, a code to send ------------------------------
    goto_settled(page, f"{server.base_url}/inbox/c/{mail}")
    expect(page.locator("h1")).to_have_text("Unknown customer")
    expect(panel.locator("#bo-claimed")).to_contain_text("Claims to be Anna Schmidt (CUST-1001) by an unverified email")
    expect(panel.locator("#records-orders")).to_have_count(0)
    panel.get_by_role("button", name="Send verification code").click()
    expect(panel.locator("#panel-ok")).to_contain_text("A code was emailed to the sender's address")

    # -- Anna, in her mailbox and on her status page -----------------------------------------------------
    body = _code_mail(relay)
    code, link = CODE.search(body), STATUS_LINK.search(body)
    assert code is not None and link is not None, body
    customer = new_page().page
    customer.goto(link.group(1))
    customer.fill("#verify-code", code.group(1))
    customer.get_by_role("button", name="Confirm").click()
    expect(customer.locator("#verify-result")).to_have_text("Thank you: your email address is confirmed.")
    expect(customer.locator("#steps")).to_contain_text("You confirmed your email address or phone number with a code")
    customer.reload()
    expect(customer.locator("#verify-done")).to_have_text("Your email address is confirmed.")
    expect(customer.locator("#verify")).to_have_count(0)

    # -- the agent again: the email now proves it is Anna --------------------------------------------------
    goto_settled(page, f"{server.base_url}/inbox/c/{mail}")
    expect(page.locator("h1")).to_have_text("Anna Schmidt")
    expect(panel.locator("#panel-identities")).to_contain_text("verified (code)")
    expect(panel.locator("#records-orders")).to_contain_text("10023")

    goto_settled(page, f"{server.base_url}/inbox/c/{sms}")
    merge = panel.locator(".suggestion").get_by_role("button", name="Merge into this customer")
    expect(merge).to_be_enabled()
    merge.click()
    expect(panel.locator("#panel-conversations li")).to_have_count(2)
    expect(panel.locator("#panel-identities li")).to_have_count(2)
    expect(panel.locator(".suggestion")).to_have_count(0)
    merged = panel.locator("#panel-merges li")
    expect(merged).to_contain_text("merged in by agent1")
    expect(page.locator("#messages")).to_contain_text("Wie steht es um meinen Wasserschaden?")  # one history

    merged.get_by_role("button", name="Undo merge").click()
    expect(panel.locator("#panel-conversations li")).to_have_count(1)
    expect(panel.locator("#panel-merges li")).to_contain_text("undone by agent1")
    expect(panel.locator(".suggestion")).to_have_count(1)  # the evidence is still there
    expect(page.locator("#messages")).not_to_contain_text("Wasserschaden")
    assert agent.page_errors == [] and agent.csp_violations == [], (agent.page_errors, agent.console_errors)
