"""The agent's timeline sentences (web.timeline_view): each step reads as a sentence, odd payloads
still get a line, and the raw data keeps everything but a note's text."""

from __future__ import annotations

from conversation import ActorKind, EventType, TimelineEvent
from services.timefmt import TimeFormatter
from web.timeline_view import event_view, summarize


def _event(step: EventType, /, **data: object) -> TimelineEvent:
    return TimelineEvent(conversation_id="cv_12345678", type=step, actor=ActorKind.AI, data=data)


def test_each_step_reads_as_a_sentence() -> None:
    understood = _event(
        EventType.UNDERSTOOD,
        intent="order_status",
        confidence=0.923,
        language="de",
        sentiment="negative",
        pii_kinds=["email"],
        out_of_scope=False,
    )
    assert summarize(understood) == (
        "Read as order status, 92% sure, language de, sentiment negative, "
        "personal data redacted before any model: email"
    )
    looked = _event(
        EventType.LOOKED_UP,
        lookups=[{"tool": "order_status", "ok": True, "connector": "sql", "duration_ms": 12.5}],
        identified=True,
        articles=["kb:returns-de"],
    )
    assert summarize(looked) == "Looked up order status answered (sql, 12.5 ms); 1 knowledge article found"
    assert summarize(_event(EventType.LOOKED_UP, lookups=[], identified=False)) == (
        "No back-office look-up (no verified customer)"
    )
    decided = _event(EventType.DECIDED, route="draft_for_approval", rule_id="returns-need-review", policy_version="7")
    assert summarize(decided) == "Routing rule returns-need-review (policy version 7) chose: draft for approval"
    assert summarize(_event(EventType.DRAFTED, drafted=True, grounded=False, sources=["a", "b"], mode="llm")) == (
        "Draft written (llm), NOT grounded: needs checking, 2 sources"
    )
    assert summarize(_event(EventType.IDENTITY_VERIFIED, kind="email", merged=False)) == (
        "The customer proved their email address with a one-time code"
    )


def test_odd_payloads_still_read_and_the_raw_data_hides_only_a_notes_text() -> None:
    assert summarize(_event(EventType.UNDERSTOOD, confidence="lots")) == "Read as no intent, ? sure"
    note = event_view(
        _event(EventType.NOTE_ADDED, text="call back after 5", by="agent1"), TimeFormatter.for_zone("UTC")
    )
    assert note["summary"] == "Internal note by agent1" and note["note"] == "call back after 5"
    assert '"by": "agent1"' in note["raw"] and "call back" not in note["raw"]
