"""The agent inbox in Debian's chromium: an agent edits and sends a draft, and the chat customer on a
real WebSocket receives the edited text; script payloads sent by SMS (signed webhook), email (SMTP)
and chat stay inert text in the list and the conversation view; the list updates live."""

from __future__ import annotations

import json
import smtplib
import uuid
from collections.abc import Iterator
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import expect
from websockets.sync.client import ClientConnection, connect

from channels.email import SmtpLimits, start_smtp_server
from services.email_ingest import EmailIngest
from tests.browser.conftest import TrackedPage
from tests.browser.live_server import LiveServer
from tests.integration.web.test_inbox_actions import (
    RecordingRelay,
    await_agent,
    desk_stack,
    wait_for,
)
from tests.support.twilio_api import DEFAULT_TOKEN, LocalTwilioApi, twilio_signature

XSS_LINES = [
    "<script>window.__xss=1;alert(1)</script>",
    "<svg onload=window.__xss=1;alert(1)>",
    "<img src=x onerror=window.__xss=1;alert(1)>",
    '<a href="javascript:window.__xss=1;alert(1)">click me</a>',
    "![x](javascript:alert(1))",
    "[pay here](javascript:window.__xss=1)",
]
XSS = "\n".join(XSS_LINES)


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("inbox-browser")) as s:
        yield s


@pytest.fixture(scope="module")
def smtp_port(stack) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """Glassdesk's own inbound SMTP server, running on the app's loop with the app's services."""
    server = stack[0]
    running = server.call(
        lambda s: start_smtp_server(host="127.0.0.1", port=0, handler_callback=EmailIngest(s), limits=SmtpLimits())
    )
    try:
        yield running.port
    finally:
        server.call(lambda s: running.aclose())


# -- customers on real channels -------------------------------------------------------------------------
def _frame(ws: ClientConnection, kind: str, *, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        frame = json.loads(ws.recv(timeout=timeout))
        if frame["type"] == kind:
            return frame


def _chat_customer(server: LiveServer, text: str) -> tuple[ClientConnection, str]:
    """A customer on the chat socket; returns the open socket and the stored message id."""
    ws = connect(server.ws_url, open_timeout=10, close_timeout=2)
    ws.send(json.dumps({"type": "hello", "token": None, "language": "en-US"}))
    _frame(ws, "session")
    _frame(ws, "history")
    ws.send(json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": text}))
    return ws, _frame(ws, "ack")["message_id"]


def _sms_customer(server: LiveServer, text: str, number: str) -> str:
    form = {
        "AccountSid": server.settings.twilio_account_sid,
        "ApiVersion": "2010-04-01",
        "From": number,
        "To": "+15005550006",
        "Body": text,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
    }
    url = server.settings.public_url + "/webhooks/twilio/sms"
    r = httpx.post(
        url,
        content=urlencode(form).encode(),
        timeout=10,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(DEFAULT_TOKEN, url, form),
        },
    )
    assert r.status_code == 200, r.text
    return form["MessageSid"]


def _email_customer(port: int, text: str, *, sender: str, name: str) -> str:
    msg = EmailMessage()
    msg["From"] = Address(display_name=name, addr_spec=sender)
    msg["To"] = "support@glassdesk.local"
    msg["Subject"] = "Help <img src=x onerror=window.__xss=1>"
    msg["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
    msg.set_content(text)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)
    return msg["Message-ID"]


def _conversation_of(server: LiveServer, message_id: str) -> str:
    return server.call(lambda s: s.messages.get_message(message_id)).conversation_id


def _by_external(server: LiveServer, channel: str, external_id: str) -> tuple[str, str]:
    from conversation import ChannelKind

    def find(s):  # type: ignore[no-untyped-def]
        if channel == "email":  # stored as "<Message-ID>#<content digest>"
            return s.messages.find_email_by_message_id(external_id)
        return s.messages.find_message_by_external_id(ChannelKind(channel), external_id)

    msg = wait_for(lambda: server.call(find), what=f"the {channel} message to be stored")
    return msg.conversation_id, msg.id


# -- the agent in the browser ---------------------------------------------------------------------------
def _agent_page(server: LiveServer, new_page) -> tuple[TrackedPage, list[str]]:  # type: ignore[no-untyped-def]
    tracked: TrackedPage = new_page()
    page = tracked.page
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(server.base_url + "/login")
    page.fill("input[name=username]", "agent1")
    page.fill("input[name=password]", "agent1-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.base_url + "/inbox")
    return tracked, dialogs


def _assert_inert(tracked: TrackedPage, dialogs: list[str]) -> None:
    page = tracked.page
    assert dialogs == [], f"a payload ran: {dialogs}"
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("main script, main svg, main img, main iframe, main object").count() == 0
    assert page.locator("a[href^='javascript:' i]").count() == 0
    assert tracked.page_errors == [], tracked.page_errors
    assert tracked.csp_violations == [], tracked.console_errors


def test_an_agent_sends_an_edited_draft_and_the_chat_customer_receives_it(stack, new_page) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = stack
    ws, message_id = _chat_customer(server, "Can I return my shoes from order 4711?")
    try:
        cid = _conversation_of(server, message_id)
        wait_for(
            lambda: int(server.call(lambda s: s.redis.pubsub_numsub("gd:live:" + cid))[0][1]) >= 1,
            what="the chat socket to follow its conversation",
        )
        await_agent(server, cid, message_id, draft="Yes, returns are free within 30 days.")
        tracked, dialogs = _agent_page(server, new_page)
        page = tracked.page
        row = page.locator(f"tr[data-conversation-id='{cid}']")
        expect(row.locator(".preview")).to_have_text("Can I return my shoes from order 4711?")
        row.locator("a.open").click()
        page.wait_for_url(f"{server.base_url}/inbox/c/{cid}")

        draft = page.locator("#draft-text")
        expect(draft).to_have_value("Yes, returns are free within 30 days.")
        expect(page.locator("#draft .decision")).to_contain_text("returns-need-review (policy version 7)")
        expect(page.locator("#draft .decision")).to_contain_text("kb:returns-en")
        edited = "Yes, returns of order 4711 are free within 30 days. I have sent you the label."
        draft.fill(edited)
        page.get_by_role("button", name="Send edited").click()

        reply = _frame(ws, "reply")
        assert reply["text"] == edited and reply["author"] == "agent" and reply["ai"] is False
        assert reply["disclosure"] is None
        agent_msg = page.locator(".msg-agent pre.text", has_text=edited)
        expect(agent_msg).to_be_visible()  # the page reloaded with the sent reply in the history
        expect(page.locator("#draft")).to_have_count(0)
        record = server.call(lambda s: s.timeline.decision_for(message_id))
        assert record.approved_by == "agent1" and record.facts["draft_state"] == "edited"
        _assert_inert(tracked, dialogs)
    finally:
        ws.close()


def test_script_payloads_from_sms_email_and_chat_never_run(stack, smtp_port, new_page) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = stack
    sid = _sms_customer(server, XSS, "+4915112345700")
    sms_cid, sms_mid = _by_external(server, "sms", sid)
    email_id = _email_customer(smtp_port, XSS, sender="mallory@example.com", name="<svg onload=alert(1)>")
    email_cid, email_mid = _by_external(server, "email", email_id)
    ws, chat_mid = _chat_customer(server, XSS)
    ws.close()
    chat_cid = _conversation_of(server, chat_mid)
    for cid, mid in ((sms_cid, sms_mid), (email_cid, email_mid), (chat_cid, chat_mid)):
        await_agent(server, cid, mid, draft="Draft quoting the customer: " + XSS, queue="xss")

    tracked, dialogs = _agent_page(server, new_page)
    page = tracked.page
    page.goto(server.base_url + "/inbox?queue=xss")
    for cid in (sms_cid, email_cid, chat_cid):
        preview = page.locator(f"tr[data-conversation-id='{cid}'] .preview")
        for line in XSS_LINES[:5]:  # the list shows the first 240 characters
            expect(preview).to_contain_text(line)
    expect(page.locator(f"tr[data-conversation-id='{email_cid}'] a.open")).to_have_text("<svg onload=alert(1)>")
    _assert_inert(tracked, dialogs)

    # live: a new conversation waiting for a person shows up without a reload, still as text
    live_ws, live_mid = _chat_customer(server, "live " + XSS_LINES[2])
    live_ws.close()
    live_cid = _conversation_of(server, live_mid)
    await_agent(server, live_cid, live_mid, queue="xss")
    server.call(lambda s: s.bus.publish(live_cid, {"event": "awaiting_agent", "actor": "system"}))
    expect(page.locator(f"tr[data-conversation-id='{live_cid}'] .preview")).to_have_text("live " + XSS_LINES[2])
    _assert_inert(tracked, dialogs)

    for cid in (sms_cid, email_cid, chat_cid):
        page.goto(f"{server.base_url}/inbox/c/{cid}")
        customer = page.locator(".msg-customer pre.text").last
        for line in XSS_LINES:
            expect(customer).to_contain_text(line)
        expect(page.locator("#draft-text")).to_have_value("Draft quoting the customer: " + XSS)
        page.locator("#note-text").fill(XSS_LINES[1])
        page.get_by_role("button", name="Add note").click()
        expect(page.locator(".events pre.note").last).to_have_text(XSS_LINES[1])
        _assert_inert(tracked, dialogs)
    expect(page.locator(".msg-customer .subject")).to_have_count(0)  # chat has no subject
    page.goto(f"{server.base_url}/inbox/c/{email_cid}")
    expect(page.locator(".msg-customer .subject").last).to_have_text("Help <img src=x onerror=window.__xss=1>")
    expect(page.locator("h1")).to_have_text("<svg onload=alert(1)>")
    _assert_inert(tracked, dialogs)


def test_hand_back_answers_every_message_that_came_in_while_a_person_held_it(stack, new_page) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = stack
    ws, first = _chat_customer(server, "Where is my parcel?")
    cid = _conversation_of(server, first)
    tracked: TrackedPage = new_page()
    page = tracked.page
    answers: list[bool] = []  # what the agent answers to the confirmation, in order
    seen: list[str] = []

    def on_dialog(dialog) -> None:  # type: ignore[no-untyped-def]
        seen.append(dialog.message)
        if answers.pop(0):
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(server.base_url + "/login")
    page.fill("input[name=username]", "agent1")
    page.fill("input[name=password]", "agent1-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.base_url + "/inbox")
    try:
        page.goto(f"{server.base_url}/inbox/c/{cid}")
        page.get_by_role("button", name="Take over").click()
        expect(page.get_by_role("button", name="Hand back to automation (1 unanswered)")).to_be_visible()
        # the customer writes twice more while the agent holds the conversation
        for text in ("Hello? Anyone there?", "It is order 10023."):
            ws.send(json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": text}))
            _frame(ws, "ack")
        # the page follows the conversation live and reloads with the new messages
        expect(page.locator(".msg-customer .badge.unanswered")).to_have_count(3, timeout=15_000)
        button = page.get_by_role("button", name="Hand back to automation (3 unanswered)")

        answers.append(False)  # Cancel: the conversation stays with the agent
        button.click()
        expect(page.locator(".msg-customer .badge.unanswered")).to_have_count(3)
        assert server.call(lambda s: s.messages.get_conversation(cid)).status.value == "handed_off"

        answers.append(True)  # OK: the automation answers all three
        button.click()
        page.wait_for_load_state("load")
        wait_for(
            lambda: server.call(lambda s: s.messages.get_conversation(cid)).status.value == "open",
            what="the conversation to be the automation's again",
        )
        assert len(seen) == 2 and "3 customer message(s) have no answer yet" in seen[0]
        waiting = [
            m.id for m in server.call(lambda s: s.messages.list_messages(cid)) if m.author_kind.value == "customer"
        ]
        queued = server.call(lambda s: s.redis.xrange("gd:turns", min="-", max="+"))
        queued_ids = [fields["message_id"] for _, fields in queued]
        assert all(queued_ids.count(m) >= 1 for m in waiting), (waiting, queued_ids[-10:])
        # the event is written right after the turns are queued: wait for it rather than race it
        wait_for(
            lambda: any(e.type.value == "handed_back" for e in server.call(lambda s: s.timeline.list_events(cid))),
            what="the hand-back event",
        )
        events = server.call(lambda s: s.timeline.list_events(cid))
        assert [e.data.get("queued_turns") for e in events if e.type.value == "handed_back"] == [3]
    finally:
        ws.close()
