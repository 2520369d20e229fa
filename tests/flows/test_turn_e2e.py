"""End-to-end turns through the real Prefect flow: ingest -> worker -> flow -> reply or handoff."""

from __future__ import annotations

import email
from email import policy as email_policy

from conversation import (
    AuthorKind,
    ChannelKind,
    ChatSession,
    ConversationStatus,
    Direction,
    EventType,
    InboundMessage,
    Route,
)
from runtime.turn_runner import TurnRunner
from runtime.worker import worker_for
from services.email_ingest import EmailIngest
from services.ingest import Ingestor


async def _run_worker(services) -> None:  # type: ignore[no-untyped-def]
    runner = await TurnRunner.create(services)
    worker = worker_for(services, runner.handle_batch, name="test-worker")
    try:
        assert await worker.run_once(block_ms=200) >= 1
    finally:
        await runner.aclose()
    assert (await services.queue.depth())["pending"] == 0, "every turn is acked after it finished"


def _claim_mail(message_id: str) -> bytes:
    msg = email.message.EmailMessage(policy=email_policy.SMTP)
    msg["From"] = "Anna Schmidt <anna.schmidt@example.com>"
    msg["To"] = "support@glassdesk.local"
    msg["Subject"] = "Wasserschaden"
    msg["Message-ID"] = message_id
    msg.set_content(
        "Guten Tag, ich möchte einen Schaden melden: Wasserschaden in der Küche am 20.11.2026, "
        "Versicherung POL-100234. Foto anbei."
    )
    msg.add_attachment(b"\x89PNG\r\n\x1a\n" + b"0" * 200, maintype="image", subtype="png", filename="kueche.png")
    return msg.as_bytes()


async def test_email_water_damage_files_a_claim_draft_and_hands_off_to_claims(services, mail_relay) -> None:  # type: ignore[no-untyped-def]
    _port, folder = mail_relay
    message_id = await EmailIngest(services).accept(["support@glassdesk.local"], _claim_mail("<claim-1@example.com>"))
    inbound = await services.messages.get_message(message_id)
    assert inbound.attachments and inbound.attachments[0].filename == "kueche.png"
    await _run_worker(services)

    conv = await services.messages.get_conversation(inbound.conversation_id)
    assert conv.status is ConversationStatus.HANDED_OFF
    assert conv.queue == "claims"
    record = await services.timeline.decision_for(message_id)
    assert record is not None and record.route is Route.HANDOFF
    intake = [lk for lk in record.lookups if lk.tool == "claim_intake"]
    assert intake and intake[0].ok, record.lookups
    assert "claim_intake" in record.facts["handoff_summary"]
    # nothing was decided automatically: no AI-authored message went out
    outbound = [m for m in await services.messages.list_messages(conv.id) if m.direction is Direction.OUTBOUND]
    assert [m.author_kind for m in outbound] == [AuthorKind.SYSTEM]
    sent = list(folder.glob("*.eml"))
    assert len(sent) == 1
    reply = email.message_from_bytes(sent[0].read_bytes(), policy=email_policy.default)
    assert reply["In-Reply-To"] == "<claim-1@example.com>"
    events = [e.type for e in await services.timeline.list_events(conv.id)]
    for step in (
        EventType.RECEIVED,
        EventType.UNDERSTOOD,
        EventType.LOOKED_UP,
        EventType.DECIDED,
        EventType.HANDED_OFF,
        EventType.SENT,
    ):
        assert step in events


async def test_chat_asking_for_a_person_hands_off_every_time(services) -> None:  # type: ignore[no-untyped-def]
    texts = ["I want to talk to a person", "Ich möchte mit einem Menschen sprechen", "Mensch bitte!", "agent please"]
    ingestor = Ingestor(services)
    ids = []
    for i, text in enumerate(texts):
        res = await ingestor.accept(
            InboundMessage(
                channel=ChannelKind.CHAT,
                external_id=f"00000000-0000-4000-8000-00000000000{i}",
                address=ChatSession(session_id=f"session-human-{i}"),
                text=text,
            )
        )
        ids.append(res.message.id)
    await _run_worker(services)
    for mid in ids:
        record = await services.timeline.decision_for(mid)
        assert record is not None, mid
        assert record.route is Route.HANDOFF
        assert record.rule_id in {"guard:human-requested", "wants-human"} or record.facts["asked_for_human"]
        conv = await services.messages.get_conversation(record.conversation_id)
        assert conv.status is ConversationStatus.HANDED_OFF


async def test_redelivered_turn_does_not_reply_twice(services) -> None:  # type: ignore[no-untyped-def]
    from conversation import TurnRef

    res = await Ingestor(services).accept(
        InboundMessage(
            channel=ChannelKind.CHAT,
            external_id="00000000-0000-4000-8000-0000000000aa",
            address=ChatSession(session_id="session-redeliver"),
            text="talk to a human",
        )
    )
    await _run_worker(services)
    await services.queue.enqueue(TurnRef(message_id=res.message.id, conversation_id=res.conversation.id))
    await _run_worker(services)
    outbound = [
        m for m in await services.messages.list_messages(res.conversation.id) if m.direction is Direction.OUTBOUND
    ]
    assert len(outbound) == 1
