"""The widget in Debian's chromium (strict CSP): "Link my email or phone" sends a code to the address and
the code links it; an AI reply shows its status-page link. Sync tests only (Playwright's sync API)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from channels.chat import chat_reply_payload
from conversation import ChannelKind, ChatSession, EmailAddress, OutboundMessage
from tests.browser.conftest import chromium_browser, new_page  # noqa: F401 - fixtures
from tests.integration.identity.conftest import IdentityApp, identity_app


@pytest.fixture(scope="module")
def widget_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityApp]:
    with identity_app(tmp_path_factory.mktemp("widget-link"), redis_url) as app:
        yield app


def _open_and_send(app: IdentityApp, tracked, text: str, *, delivered: str = "Delivered"):  # type: ignore[no-untyped-def]
    page = tracked.page
    assert page.goto(app.server.base_url + "/chat/demo").ok
    page.locator(".gd-chat-launcher").click()
    page.locator(".gd-chat-input").fill(text)
    page.locator(".gd-chat-input").press("Enter")
    bubble = page.locator(".gd-chat-msg--customer", has_text=text).last
    expect(bubble.locator(".gd-chat-state")).to_have_text(delivered)
    message_id = bubble.get_attribute("data-message-id")
    message = app.server.call(lambda s: s.messages.get_message(message_id))
    return page, app.server.call(lambda s: s.messages.get_conversation(message.conversation_id))


def test_link_my_email_sends_a_code_and_the_code_links_it(widget_app: IdentityApp, new_page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    tracked = new_page(locale="en-US")
    page, conversation = _open_and_send(widget_app, tracked, "Where is my order 4711?")
    address = f"ben.{uuid.uuid4().hex[:8]}@example.com"

    page.get_by_role("button", name="Link my email or phone").click()
    page.locator(".gd-chat-verify-input").fill(address)
    page.get_by_role("button", name="Send code").click()
    expect(page.locator(".gd-chat-verify-note")).to_have_text("We sent you a code. Enter it here.")
    code = widget_app.relay.code_for(address)
    page.locator(".gd-chat-verify-input").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".gd-chat-verify-note")).to_have_text("That code is not right. Please check it.")
    page.locator(".gd-chat-verify-input").fill(code)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".gd-chat-verify-note")).to_have_text("Linked – thank you.")
    expect(page.locator(".gd-chat-verify")).to_be_hidden()

    identity = widget_app.server.call(lambda s: s.messages.find_identity(EmailAddress(address=address)))
    assert identity is not None and identity.verified and identity.contact_id == conversation.contact_id
    texts = [m.text for m in widget_app.server.call(lambda s: s.messages.list_messages(conversation.id))]
    assert code not in " ".join(texts)
    assert tracked.page_errors == [] and tracked.csp_violations == [], (tracked.page_errors, tracked.console_errors)


def test_an_ai_reply_shows_the_status_link(widget_app: IdentityApp, new_page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    tracked = new_page(locale="de-DE")
    page, conversation = _open_and_send(widget_app, tracked, "Wo ist meine Bestellung?", delivered="Zugestellt")
    channel = "gd:live:" + conversation.id
    deadline = time.monotonic() + 10
    while int(widget_app.server.call(lambda s: s.redis.pubsub_numsub(channel))[0][1]) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    link = f"{widget_app.server.base_url}/status/{conversation.status_token}"
    out = OutboundMessage(
        conversation_id=conversation.id,
        message_id="msg_widget_link",
        outbox_id="ob_widget_link",
        channel=ChannelKind.CHAT,
        to=ChatSession(session_id="browser-test"),
        text="Ihr Paket kommt morgen.",
        language="de",
        ai_generated=True,
        status_url=link,
    )
    widget_app.server.call(lambda s: s.bus.publish(conversation.id, chat_reply_payload(out)))
    reply = page.locator(".gd-chat-msg--ai", has_text="Ihr Paket kommt morgen.")
    expect(reply.locator(".gd-chat-reply-status")).to_have_attribute("href", link)
    expect(reply.locator(".gd-chat-reply-status")).to_have_text("Status Ihrer Anfrage")
    expect(page.get_by_role("button", name="E-Mail oder Telefon verknüpfen")).to_be_visible()
    assert tracked.page_errors == [] and tracked.csp_violations == [], (tracked.page_errors, tracked.console_errors)
