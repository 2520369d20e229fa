"""Working speed in Debian's chromium (issue 12, item 10): the tab title counts unread conversations
and drops one when the agent opens it; desktop notifications are opt-in and name a count, never a
customer; j/k/Enter/u/a/e/?/Esc do what the help says; on a phone-sized screen nothing scrolls
sideways and the list reads as cards; the timeline reads as sentences with the raw data behind a toggle."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from conversation import ChannelKind, InboundMessage, PhoneAddress
from tests.browser.live_server import LiveServer
from tests.integration.web.test_inbox_actions import await_agent, desk_stack, ingest

SECRET_TEXT = "Mein Name ist Erika Mustermann"  # must never reach a desktop notification


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("working-speed")) as (s, _relay, _twilio):
        yield s


def _waiting(server: LiveServer, text: str = "Ich möchte meine Bestellung 4711 zurückgeben.") -> str:
    number = "+4915170" + str(uuid.uuid4().int)[:6]
    conv, msg = ingest(
        server,
        InboundMessage(
            channel=ChannelKind.SMS, external_id="SM" + uuid.uuid4().hex, address=PhoneAddress(number=number), text=text
        ),
    )
    await_agent(server, conv, msg)
    return conv


def _login(server: LiveServer, new_page: Any, *, notes: bool = False) -> Any:
    tracked = new_page()
    page = tracked.page
    if notes:  # record what the page would show as a desktop notification, and pretend the tab is hidden
        page.context.grant_permissions(["notifications"], origin=server.base_url)
        page.add_init_script(
            """(() => { const Real = window.Notification; window.__notes = [];
               function Recorder(title, opts) { window.__notes.push(title + ': ' + ((opts || {}).body || '')); }
               Recorder.requestPermission = () => Real.requestPermission();
               Object.defineProperty(Recorder, 'permission', { get: () => Real.permission });
               window.Notification = Recorder;
               Object.defineProperty(document, 'hidden', { get: () => window.__hidden === true }); })();"""
        )
    page.goto(server.base_url + "/login")
    page.fill("input[name=username]", "agent1")
    page.fill("input[name=password]", "agent1-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.base_url + "/inbox")
    return tracked


def test_unread_title_shortcuts_and_notifications(server: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    convs = [_waiting(server) for _ in range(3)]
    tracked = _login(server, new_page, notes=True)
    page = tracked.page
    rows = page.locator("#rows tr[data-conversation-id]")
    expect(rows).to_have_count(3)
    expect(page).to_have_title(re.compile(r"^\(3\) "))
    expect(page.locator("#rows tr.unread")).to_have_count(3)

    # j/k move the selection, Enter opens it
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(page.locator("#rows tr.selected")).to_have_count(1)
    first = rows.nth(0).get_attribute("data-conversation-id")
    second = rows.nth(1).get_attribute("data-conversation-id")
    assert page.locator("#rows tr.selected").get_attribute("data-conversation-id") == first
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base_url}/inbox/c/{first}")

    # on the conversation: ? shows the help, Esc hides it; e edits the draft; Esc leaves the box
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.id") == "draft-text"
    page.keyboard.press("a")  # typed into the box: no approval
    expect(page.locator("#draft")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")  # next conversation in the list's order
    page.wait_for_url(f"{server.base_url}/inbox/c/{second}")
    page.keyboard.press("a")  # approve unchanged: the draft goes, the page reloads without it
    expect(page.locator("#draft")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("Your return for order 4711 is approved")
    page.keyboard.press("u")
    page.wait_for_url(f"{server.base_url}/inbox")
    # two of three opened; the approved one left the list
    expect(rows).to_have_count(2)
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    expect(page.locator("#rows tr.unread")).to_have_count(1)
    unread = page.locator("#rows tr.unread").get_attribute("data-conversation-id")
    assert unread in convs and unread not in (first, second)  # the one never opened

    # desktop notifications: opt in, then a new conversation while the tab is hidden
    toggle = page.locator("#notify-toggle")
    expect(toggle).to_have_text("Desktop notifications: off")
    toggle.click()
    expect(toggle).to_have_text("Desktop notifications: on")
    page.evaluate("window.__hidden = true")
    _waiting(server, text=SECRET_TEXT)
    expect(page).to_have_title(re.compile(r"^\(2\) "))
    notes = page.evaluate("window.__notes")
    assert notes == ["Glassdesk: 2 unread conversations"], notes
    assert tracked.page_errors == [] and tracked.csp_violations == [], (tracked.page_errors, tracked.console_errors)


def test_a_phone_sized_screen_and_a_readable_timeline(server: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    conv = _waiting(server)
    tracked = _login(server, new_page)
    page = tracked.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.base_url + "/inbox")
    expect(page.locator("#rows tr[data-conversation-id]").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator(".worklist thead")).to_be_hidden()  # rows read as cards
    card = page.locator(f'#rows tr[data-conversation-id="{conv}"]')
    assert card.evaluate("e => getComputedStyle(e).display") == "flex"
    worklist, views = (page.locator(sel).bounding_box() for sel in (".worklist", ".queues"))
    assert worklist is not None and views is not None and worklist["y"] < views["y"]  # the work comes first

    page.goto(f"{server.base_url}/inbox/c/{conv}")
    expect(page.locator("#draft")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#draft-text").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390

    received = page.locator(".events li.event-received")
    expect(received.locator(".summary")).to_have_text("Message received on sms")
    raw = received.locator("pre.raw-data")
    expect(raw).to_be_hidden()
    received.locator("details.raw summary").click()
    expect(raw).to_be_visible()
    expect(raw).to_contain_text('"channel": "sms"')
    waiting = page.locator(".events li.event-awaiting_agent .summary")
    expect(waiting).to_have_text("Waiting for a person to approve the draft")
    assert tracked.page_errors == [] and tracked.csp_violations == [], (tracked.page_errors, tracked.console_errors)
