"""The policy facts of a turn, as the decide step and the fairness audit both build them."""

from __future__ import annotations

import datetime as dt

from conversation import ChannelKind
from policies import Sentiment
from services.turn_facts import build_facts, turn_language, within_business_hours
from understanding import SentimentLabel, SentimentScores, Understanding


def _understanding(**change: object) -> Understanding:
    base = Understanding(
        intent="claim_status",
        confidence=0.876543,
        out_of_scope=False,
        language="de",
        language_confidence=0.9,
        sentiment=SentimentLabel.NEGATIVE,
        sentiment_scores=SentimentScores(negative=0.7, neutral=0.2, positive=0.1),
        emotions={"anger": 1.2, "frustration": 0.4, "urgency": -0.1},
        pii_kinds=(),
        asked_for_human=False,
    )
    return base.model_copy(update=change)


def test_facts_carry_the_understanding_clipped_and_rounded() -> None:
    facts = build_facts(
        _understanding(),
        text="Wie ist der Stand?",
        channel=ChannelKind.SMS,
        language="de",
        amount=12.5,
        attempts=1,
        business_hours=False,
    )
    assert facts.intent == "claim_status" and facts.intent_confidence == 0.8765
    assert facts.channel is ChannelKind.SMS and facts.language == "de" and facts.sentiment is Sentiment.NEGATIVE
    assert facts.sentiment_score == 0.2  # 0.5 + (0.1 - 0.7) / 2
    assert (facts.anger, facts.frustration, facts.urgency) == (1.0, 0.4, 0.0)
    assert facts.amount == 12.5 and facts.attempts == 1 and not facts.within_business_hours
    assert not facts.claim_decision and not facts.legal_effect


def test_a_claim_outcome_question_is_a_claim_decision_and_has_legal_effect() -> None:
    facts = build_facts(
        _understanding(),
        text="Wird mein Schaden bezahlt?",
        channel=ChannelKind.EMAIL,
        language="de",
        amount=None,
        attempts=0,
        business_hours=True,
    )
    assert facts.claim_decision and facts.legal_effect
    other = build_facts(
        _understanding(intent="general_question"),
        text="Wird das bezahlt?",
        channel=ChannelKind.EMAIL,
        language="de",
        amount=None,
        attempts=0,
        business_hours=True,
    )
    assert not other.claim_decision
    looked_up = build_facts(
        _understanding(intent="general_question"),
        text="Wird das bezahlt?",
        channel=ChannelKind.EMAIL,
        language="de",
        amount=None,
        attempts=0,
        business_hours=True,
        lookup_tools=("claim_status",),
    )
    assert looked_up.claim_decision  # a claim lookup in this turn makes it about a claim


def test_an_out_of_scope_message_has_the_out_of_scope_intent() -> None:
    facts = build_facts(
        _understanding(intent=None, out_of_scope=True),
        text="hm",
        channel=ChannelKind.CHAT,
        language="en",
        amount=None,
        attempts=0,
        business_hours=True,
    )
    assert facts.intent == "out_of_scope" and facts.out_of_scope


def test_the_turn_language_falls_back_only_when_undecided() -> None:
    assert turn_language(_understanding(language="tr"), fallback="de") == "tr"
    assert turn_language(_understanding(language="unknown"), fallback="de") == "de"
    assert turn_language(_understanding(language="unknown"), fallback=None) == "en"


def test_business_hours_in_the_configured_time_zone() -> None:
    def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
        return dt.datetime(y, mo, d, h, mi, tzinfo=dt.UTC)

    # Monday 2 March 2026; Berlin is UTC+1 in winter
    assert within_business_hours("08:00-18:00", "Europe/Berlin", now=at(2026, 3, 2, 7, 0))  # 08:00 local
    assert not within_business_hours("08:00-18:00", "Europe/Berlin", now=at(2026, 3, 2, 6, 59))
    assert not within_business_hours("08:00-18:00", "Europe/Berlin", now=at(2026, 3, 2, 17, 0))  # 18:00 local
    assert not within_business_hours("08:00-18:00", "Europe/Berlin", now=at(2026, 3, 7, 10))  # Saturday
