"""Erasure edge paths: a store that fails leaves everything findable and the request finishes on a second
approval (the customer is not told twice); an attachment another customer also sent stays."""

from __future__ import annotations

from email import policy as email_policy
from email.message import EmailMessage

from conversation import ChannelKind, InboundMessage, PhoneAddress
from conversation.errors import NotFound
from conversation.sql.receipts import ReceiptStatus
from services.email_ingest import EmailIngest
from services.gdpr_erase import Eraser
from services.gdpr_export import build_export
from services.gdpr_prefect import MemoryFlowRuns, PrefectRestRuns
from services.ingest import Ingestor
from tests.integration.gdpr.conftest import Stack, free_port


async def test_a_failed_store_leaves_the_data_findable_and_a_second_approval_finishes(stack: Stack) -> None:
    s = stack.services
    res = await Ingestor(s).accept(
        InboundMessage(
            channel=ChannelKind.SMS,
            external_id="SM" + "0f" * 16,
            address=PhoneAddress(number="+4915790000061"),
            text="Loeschen bitte",
        )
    )
    contact = res.conversation.contact_id
    down = PrefectRestRuns(f"http://127.0.0.1:{free_port()}/api", timeout_s=2)
    try:
        first = await Eraser(s, runs=down).erase(contact, requested_by="admin1", approved_by="admin2")
    finally:
        await down.aclose()
    assert first.receipt is not None and first.receipt.status is ReceiptStatus.FAILED
    assert "failed at prefect" in first.receipt.detail and "unreachable" in first.receipt.detail
    assert first.receipt.counts["notice.sent"] == 1
    assert (await s.messages.get_conversation(res.conversation.id)).contact_id == contact  # SQL goes last
    assert await s.redis.exists(f"gd:enqueued:{res.message.id}")  # nothing after the failed store ran

    again = await Eraser(s, runs=MemoryFlowRuns()).approve(first.receipt.id, approved_by="admin2")
    assert again.receipt is not None and again.receipt.status is ReceiptStatus.COMPLETED, again.public()
    assert again.receipt.counts["notice.sent"] == 1  # carried over: the customer was told once
    sms = [p for p in (stack.var / "sms").iterdir()] if (stack.var / "sms").exists() else []
    assert sms == []  # the notice's sink copy named the number: gone with the rest
    try:
        await s.messages.get_conversation(res.conversation.id)
        raise AssertionError("the conversation is still there")
    except NotFound:
        pass


def _mail(sender: str, name: str, content: bytes, message_id: str) -> bytes:
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "support@glassdesk.local"
    msg["Subject"] = "Formular"
    msg["Message-ID"] = message_id
    msg.set_content("Anbei das ausgefuellte Formular.")
    msg.add_attachment(content, maintype="application", subtype="pdf", filename="formular.pdf")
    return msg.as_bytes()


async def test_an_attachment_another_customer_also_sent_is_kept(stack: Stack) -> None:
    s = stack.services
    stack.relay.start()
    form = b"%PDF-1.4 the shop's own blank form " * 40
    ingest = EmailIngest(s)
    first = await s.messages.get_message(
        await ingest.accept(
            ["support@glassdesk.local"], _mail("erika.eins@example.org", "Erika Eins", form, "<eins@example.org>")
        )
    )
    second = await s.messages.get_message(
        await ingest.accept(
            ["support@glassdesk.local"], _mail("zora.zwei@example.org", "Zora Zwei", form, "<zwei@example.org>")
        )
    )
    assert first.attachments[0].blob_key == second.attachments[0].blob_key  # content-addressed: one blob
    erika = (await s.messages.contact_for(first.conversation_id)).id
    outcome = await Eraser(s, runs=MemoryFlowRuns()).erase(erika, requested_by="admin1", approved_by="admin2")
    assert outcome.receipt is not None and outcome.receipt.status is ReceiptStatus.COMPLETED
    assert outcome.counts["blobs.shared_kept"] == 1 and outcome.counts["blobs.deleted"] == 1  # Erika's raw email
    zora = (await s.messages.contact_for(second.conversation_id)).id
    doc, _ = await build_export(s, zora)
    (att,) = [a for c in doc.conversations for m in c.messages for a in m.attachments]
    assert att.content_base64 and att.missing is None
