"""The chat widget in Debian's chromium: embedded with one script tag under a strict CSP, a message is
stored, a pushed AI reply shows its badge and disclosure, markup stays text, the session resumes."""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import expect

from channels.chat import chat_reply_payload
from conversation import ChannelKind, ChatSession, OutboundMessage, ai_disclosure
from tests.browser.conftest import TrackedPage
from tests.browser.live_server import LiveServer
from web.chat import DEMO_CSP

XSS = "<img src=x onerror=window.__xss=1>"


def _wait_subscribed(live: LiveServer, conversation_id: str, *, timeout: float = 10.0) -> None:
    """Wait (bounded) until a chat socket listens on the conversation's live channel."""
    channel = "gd:live:" + conversation_id
    deadline = time.monotonic() + timeout
    while int(live.call(lambda s: s.redis.pubsub_numsub(channel))[0][1]) < 1:
        assert time.monotonic() < deadline, f"no chat socket subscribed to {channel} within {timeout} s"
        time.sleep(0.05)


def _push(live: LiveServer, conversation_id: str, text: str, *, ai: bool, message_id: str) -> None:
    out = OutboundMessage(
        conversation_id=conversation_id,
        message_id=message_id,
        outbox_id="ob_" + message_id,
        channel=ChannelKind.CHAT,
        to=ChatSession(session_id="browser-test"),
        text=text,
        language="en",
        ai_generated=ai,
    )
    live.call(lambda s: s.bus.publish(conversation_id, chat_reply_payload(out)))


def _open_demo(live: LiveServer, tracked: TrackedPage):  # type: ignore[no-untyped-def]
    page = tracked.page
    response = page.goto(live.base_url + "/chat/demo")
    assert response is not None and response.ok
    assert response.headers["content-security-policy"] == DEMO_CSP
    expect(page.get_by_role("heading", name="Glassdesk Demo Shop")).to_be_visible()
    return page


def _send(page, text: str) -> str:  # type: ignore[no-untyped-def]
    """Type and send; returns the stored message id once the server acknowledged it."""
    page.locator(".gd-chat-input").fill(text)
    page.locator(".gd-chat-input").press("Enter")
    bubble = page.locator(".gd-chat-msg--customer", has_text=text).last
    expect(bubble.locator(".gd-chat-state")).to_have_text("Delivered")
    return bubble.get_attribute("data-message-id")


def test_a_customer_chats_and_sees_an_ai_reply_with_badge_and_disclosure(live_app: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    tracked = new_page(locale="en-US")
    page = _open_demo(live_app, tracked)
    assert page.locator("script").count() == 1  # the one embed tag, nothing inline

    page.get_by_role("button", name="Chat with us").click()
    expect(page.get_by_role("dialog", name="Customer service")).to_be_visible()
    message_id = _send(page, "Where is my order 4711?")

    stored = live_app.call(lambda s: s.messages.get_message(message_id))
    assert stored.text == "Where is my order 4711?" and stored.channel == ChannelKind.CHAT
    conversation = live_app.call(lambda s: s.messages.get_conversation(stored.conversation_id))
    expect(page.locator(".gd-chat-status")).to_have_attribute(
        "href", f"{live_app.base_url}/status/{conversation.status_token}"
    )

    _wait_subscribed(live_app, conversation.id)
    live_app.call(lambda s: s.bus.publish(conversation.id, {"event": "understood", "actor": "ai"}))
    expect(page.locator(".gd-chat-progress")).to_have_text("We are working on your request…")
    _push(live_app, conversation.id, "Your order 4711 ships today.", ai=True, message_id="msg_browser_ai")

    reply = page.locator(".gd-chat-msg--ai", has_text="Your order 4711 ships today.")
    expect(reply).to_be_visible()
    expect(reply.locator(".gd-chat-badge")).to_have_text("AI")
    expect(reply.locator(".gd-chat-badge")).to_be_visible()
    expect(reply.locator(".gd-chat-disclosure")).to_have_text(ai_disclosure("en"))
    expect(reply.locator(".gd-chat-disclosure")).to_be_visible()

    live_app.call(lambda s: s.bus.publish(conversation.id, {"event": "handed_off", "actor": "system"}))
    expect(page.locator(".gd-chat-progress")).to_have_text("A person from our team will answer you here.")
    assert tracked.page_errors == [] and tracked.csp_violations == [], (tracked.page_errors, tracked.console_errors)


def test_markup_in_a_reply_renders_as_text_and_never_runs(live_app: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    tracked = new_page()
    page = _open_demo(live_app, tracked)
    page.get_by_role("button", name="Chat with us").click()
    message_id = _send(page, XSS)  # the customer's own text is inert as well
    conversation_id = live_app.call(lambda s: s.messages.get_message(message_id)).conversation_id
    _wait_subscribed(live_app, conversation_id)

    _push(live_app, conversation_id, XSS, ai=True, message_id="msg_xss_ai")
    _push(live_app, conversation_id, "<b>bold?</b> " + XSS, ai=False, message_id="msg_xss_agent")
    expect(page.locator(".gd-chat-msg--ai .gd-chat-text").last).to_have_text(XSS)
    expect(page.locator(".gd-chat-msg--agent .gd-chat-text").last).to_have_text("<b>bold?</b> " + XSS)
    assert page.locator(".gd-chat-root img, .gd-chat-root b").count() == 0
    assert page.evaluate("() => window.__xss") is None
    assert tracked.page_errors == [] and tracked.csp_violations == []


def test_the_talk_to_a_person_button_speaks_german_and_sends_the_request(live_app: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    tracked = new_page(locale="de-DE")
    page = _open_demo(live_app, tracked)
    page.get_by_role("button", name="Chatten Sie mit uns").click()
    page.get_by_role("button", name="Mit einem Menschen sprechen").click()
    bubble = page.locator(".gd-chat-msg--customer", has_text="Ich möchte mit einem Menschen sprechen")
    expect(bubble.locator(".gd-chat-state")).to_have_text("Zugestellt")
    message_id = bubble.get_attribute("data-message-id")
    stored = live_app.call(lambda s: s.messages.get_message(message_id))
    assert stored.text == "Ich möchte mit einem Menschen sprechen"


def test_a_returning_visitor_resumes_and_unacked_messages_are_resent_once(live_app: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    tracked = new_page()
    page = _open_demo(live_app, tracked)
    page.get_by_role("button", name="Chat with us").click()
    first_id = _send(page, "first message")
    first = live_app.call(lambda s: s.messages.get_message(first_id))
    token = page.evaluate("() => JSON.parse(localStorage.getItem('glassdesk.chat.token'))")
    assert isinstance(token, str) and token

    # The ack of "first message" got lost, and "second message" never reached the server: both are
    # still pending when the visitor comes back. Both go out again with their original UUIDs.
    # Written by an init script when the reloaded page starts, so a late (duplicate) ack still arriving
    # at the old page cannot overwrite it.
    second_uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    pending = json.dumps(
        [{"id": first.external_id, "text": "first message"}, {"id": second_uuid, "text": "second message"}]
    )
    page.add_init_script(
        "if (!sessionStorage.getItem('gd.test.injected')) {"
        f" localStorage.setItem('glassdesk.chat.pending', {json.dumps(pending)});"
        " sessionStorage.setItem('gd.test.injected', '1'); }"
    )
    page.reload()
    page.get_by_role("button", name="Chat with us").click()
    log = page.locator(".gd-chat-log")
    second = log.locator(".gd-chat-msg--customer", has_text="second message").locator(".gd-chat-state")
    try:
        expect(second).to_have_text("Delivered")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nsocket frames:\n" + "\n".join(tracked.ws_frames)) from None
    expect(log.locator(".gd-chat-msg--customer", has_text="first message")).to_have_count(1)
    expect(log.locator(".gd-chat-msg--customer")).to_have_count(2)
    assert page.evaluate("() => localStorage.getItem('glassdesk.chat.pending')") == "[]"

    stored = live_app.call(lambda s: s.messages.list_messages(first.conversation_id))
    assert [(m.text, m.external_id) for m in stored] == [
        ("first message", first.external_id),
        ("second message", second_uuid),
    ]
    assert re.fullmatch(r"[A-Za-z0-9_\-.]+", token)
