"""Attachments in Debian's chromium: a claim email with a photo and a PDF shows the photo as a preview
(loaded under the inbox's strict CSP) and the PDF as a download link with its size; the agent takes
the conversation over and answers with a file from the reply form, and the customer's email carries it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conversation import ChannelKind, EmailAddress, InboundMessage
from conversation.blobs import store_file
from tests.browser.live_server import LiveServer
from tests.browser.test_desk_times import assert_clean, browser_page, log_in
from tests.integration.web.test_inbox_actions import RecordingRelay, desk_stack, ingest, wait_for
from tests.support.staff import login
from tests.support.twilio_api import LocalTwilioApi

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"%" * 2000


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("desk-attachments")) as s:
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


def _claim_email(server: LiveServer) -> str:
    async def stored(services):  # type: ignore[no-untyped-def]
        return (
            await store_file(services.blobs, PNG, filename="damage photo.png", content_type="image/png"),
            await store_file(services.blobs, PDF, filename="invoice.pdf", content_type="application/pdf"),
        )

    inbound = InboundMessage(
        channel=ChannelKind.EMAIL,
        external_id=f"<{uuid.uuid4()}@example.com>",
        address=EmailAddress(address="anna.attach@example.org"),
        display_name="Anna Schmidt",
        text="My kitchen was flooded. Photo and invoice attached.",
        attachments=server.call(stored),
        meta={"subject": "Claim", "references": []},
    )
    cid, _ = ingest(server, inbound)
    return cid


def test_a_photo_is_previewed_a_pdf_is_a_download_and_a_reply_carries_a_file(
    stack, chromium_browser, contexts, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    server, relay, _ = stack
    cid = _claim_email(server)
    agent = browser_page(chromium_browser, contexts)
    log_in(server, agent, "agent1")
    page = agent.page
    page.goto(f"{server.base_url}/inbox/c/{cid}")

    preview = page.get_by_role("img", name="damage photo.png")
    expect(preview).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth === 1", arg=preview.element_handle())
    download = page.get_by_role("link", name="invoice.pdf")
    expect(download).to_be_visible()
    expect(page.locator(".attachment", has=download).locator(".size")).to_have_text("(2 KB)")
    expect(page.get_by_role("img", name="invoice.pdf")).to_have_count(0)  # no preview for a PDF
    with page.expect_download() as got:
        download.click()
    assert got.value.suggested_filename == "invoice.pdf"
    assert Path(got.value.path()).read_bytes() == PDF
    assert_clean(agent)

    page.get_by_role("button", name="Take over").click()
    page.get_by_label("Reply as").fill("Please sign and return the attached form.")
    form = tmp_path / "Schadenformular.pdf"
    form.write_bytes(PDF)
    page.get_by_label("Attach files").set_input_files(str(form))
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".msg-agent .attachment .download")).to_have_text("Schadenformular.pdf")
    mail = wait_for(
        lambda: [m for m in relay.received() if "attached form" in m.get_body(("plain",)).get_content()],
        what="the reply with the form",
    )[0]
    (part,) = list(mail.iter_attachments())
    assert part.get_filename() == "Schadenformular.pdf" and part.get_content() == PDF
    assert_clean(agent)


def test_the_chat_customer_gets_a_download_link_for_a_file_on_a_reply(stack, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = stack
    customer = browser_page(chromium_browser, contexts)
    page = customer.page
    page.goto(server.base_url + "/chat/demo")
    page.get_by_role("button", name="Chat with us").click()
    page.locator(".gd-chat-input").fill("Here is my claim number 4711, please send the form.")
    page.locator(".gd-chat-input").press("Enter")
    bubble = page.locator(".gd-chat-msg--customer").last
    expect(bubble.locator(".gd-chat-state")).to_have_text("Delivered")
    message_id = bubble.get_attribute("data-message-id")
    assert message_id
    cid = server.call(lambda s: s.messages.get_message(message_id)).conversation_id

    client, csrf = login(server, "agent1")
    try:
        assert client.post(f"/api/conversations/{cid}/take-over", json={}, headers={"X-CSRF-Token": csrf}).is_success
        r = client.post(
            f"/api/conversations/{cid}/reply",
            data={"text": "Here is the form.", "client_id": str(uuid.uuid4())},
            files=[("files", ("claim form.pdf", PDF, "application/pdf"))],
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 200, r.text
    finally:
        client.close()
    reply = page.locator(".gd-chat-msg--agent", has_text="Here is the form.")
    link = reply.get_by_role("link", name="Download: claim form.pdf")
    expect(link).to_have_text("claim form.pdf (2 KB)")
    with page.expect_download() as got:
        link.click()
    assert got.value.suggested_filename == "claim form.pdf"
    assert Path(got.value.path()).read_bytes() == PDF

    page.reload()  # a returning visitor sees the link again with the history
    page.get_by_role("button", name="Chat with us").click()
    expect(
        page.locator(".gd-chat-msg--agent", has_text="Here is the form.").locator(".gd-chat-attachment")
    ).to_have_count(1)
    assert_clean(customer)
