"""The service records of a conversation reach the data subject's export and go with the erasure:
the outcome of a resolution (the survey answer), the handoff reason, the SLA clock and the record of a
merge that was undone (``contact_merges`` keeps it after ``identity_merges`` lost its row)."""

from __future__ import annotations

from sqlalchemy import func, select

from conversation import ChannelKind, ChatSession, InboundMessage, PhoneAddress
from conversation.sql.outcomes import OutcomeStore
from conversation.sql.schema_customer import contact_merges
from conversation.sql.schema_outcomes import handoffs, outcomes
from conversation.sql.schema_sla import sla_clocks
from conversation.survey import SurveyAnswer
from services.escalation import escalate_failed_turn
from services.gdpr_erase import Eraser
from services.gdpr_export import build_export
from services.gdpr_prefect import MemoryFlowRuns
from services.ingest import Ingestor
from tests.integration.gdpr.conftest import Stack
from tests.integration.gdpr.scan import scan_sqlite


async def _count(stack: Stack, table, column, value: str) -> int:  # type: ignore[no-untyped-def]
    async with stack.services.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(column == value))).scalar_one())


async def test_outcomes_handoffs_sla_and_undone_merges_are_exported_then_erased(stack: Stack) -> None:
    s = stack.services
    sms = await Ingestor(s).accept(
        InboundMessage(
            channel=ChannelKind.SMS,
            external_id="SM" + "5e" * 16,
            address=PhoneAddress(number="+4915790000077"),
            text="Mein Paket ist nicht da",
        )
    )
    conv_id, contact = sms.conversation.id, sms.conversation.contact_id
    # the automation failed: a person gets it, with a reason and an SLA clock
    await escalate_failed_turn(s, message_id=sms.message.id, conversation_id=conv_id, reason="drafting crashed")
    store = OutcomeStore(s.db)
    latest = await store.latest_handoff(conv_id)
    assert latest is not None and latest.reason.value == "automation_failed" and latest.queue == "attention"
    assert await _count(stack, sla_clocks, sla_clocks.c.conversation_id, conv_id) == 1
    # a person resolved it and the customer answered the survey: solved, 4 of 5
    outcome_id = await store.open_resolution(conv_id, resolved_by="agent1")
    await store.record_answer(outcome_id, SurveyAnswer(solved=True, rating=4), message_id=sms.message.id)

    chat = await Ingestor(s).accept(
        InboundMessage(
            channel=ChannelKind.CHAT,
            external_id="c1f0a7e2-0000-4000-8000-00000000c0de",
            address=ChatSession(session_id="chat-session-gdpr-77"),
            text="Hallo?",
        )
    )
    other = chat.conversation.contact_id
    assert await s.messages.merge_contacts(other, contact, evidence="agent judged it the same person", actor="agent1")
    merge_id = str((await s.messages.merge_records(contact))[0]["merge_id"])
    await s.messages.undo_merge(merge_id, actor="agent2")  # a mistake: the identity_merges row goes

    doc, _ = await build_export(s, contact)
    (conv,) = [c for c in doc.conversations if c.id == conv_id]
    assert [(o.id, o.solved, o.rating) for o in conv.outcomes] == [(outcome_id, True, 4)]
    assert conv.outcomes[0].answered_at is not None and conv.outcomes[0].survey_state == "answered"
    assert doc.merges == []  # undone: not a merge any more
    (record,) = doc.merge_records
    assert (record.merge_id, record.from_contact_id, record.into_contact_id) == (merge_id, other, contact)
    assert record.undone_by == "agent2" and record.undone_at is not None

    outcome = await Eraser(s, runs=MemoryFlowRuns()).erase(contact, requested_by="admin1", approved_by="admin2")
    assert outcome.receipt is not None and outcome.receipt.status.value == "completed", outcome.public()
    counts = outcome.receipt.counts
    assert counts["sql.outcomes"] == 1 and counts["sql.handoffs"] == 1, counts
    assert counts["sql.sla_clocks"] == 1 and counts["sql.contact_merges"] == 1, counts
    for table, column in (
        (outcomes, outcomes.c.conversation_id),
        (handoffs, handoffs.c.conversation_id),
        (sla_clocks, sla_clocks.c.conversation_id),
    ):
        assert await _count(stack, table, column, conv_id) == 0, table.name
    assert await _count(stack, contact_merges, contact_merges.c.merge_id, merge_id) == 0
    # and no table names the erased contact, its conversation or its outcome any more
    needles = {"contact": contact, "conversation": conv_id, "outcome": outcome_id, "merge": merge_id}
    assert scan_sqlite(stack.var / "glassdesk.db", needles) == []
