"""Which turns count as touching a claim decision (the guard then sends them to a person)."""

from __future__ import annotations

import pytest

from understanding.claim_outcome import claim_outcome_requested

OUTCOME_QUESTIONS = [
    # German
    "Wird mein Schaden genehmigt?",
    "Bitte genehmigen Sie meinen Schaden CLM-2026-0001.",
    "Warum wurde mein Antrag abgelehnt?",
    "Lehnen Sie den Schaden etwa ab?",
    "Wann entscheiden Sie über meinen Schaden?",
    "Gibt es schon eine Entscheidung zu meiner Schadenmeldung?",
    "Zahlen Sie den Wasserschaden?",
    "Wann bekomme ich die Schadenzahlung?",
    "Wird der Betrag ausgezahlt?",
    "Erstatten Sie mir die Reparatur?",
    "Übernehmen Sie die Kosten für den Glasbruch?",
    "Ist die Kostenübernahme zugesagt?",
    "Wann bekomme ich mein Geld?",
    "Ich lege Widerspruch gegen die Ablehnung ein.",
    # English
    "Will you approve my claim?",
    "Why was my claim rejected?",
    "Please don't deny my claim",
    "My claim was denied, why?",
    "When will you decide on my claim?",
    "Has a decision been made on CLM-2026-0001?",
    "Will you pay for the water damage?",
    "When do I get paid?",
    "Can I get a refund for the repair?",
    "Will you reimburse me?",
    "How much will the settlement be?",
    "Is the damage covered and will you accept the claim?",
    "I want to appeal the outcome.",
]

INFO_QUESTIONS = [
    "Wie melde ich einen Schaden?",
    "Ich möchte einen Wasserschaden melden, Versicherung POL-100234.",
    "Welche Unterlagen brauchen Sie für die Schadenmeldung?",
    "How do I report a claim?",
    "I want to report water damage for policy POL-100234.",
    "What documents do you need for my claim?",
]


@pytest.mark.parametrize("text", OUTCOME_QUESTIONS)
@pytest.mark.parametrize("intent", ["claim_report", "claim_status"])
def test_claim_outcome_questions_count_as_claim_decisions(text: str, intent: str) -> None:
    assert claim_outcome_requested(text, intent=intent)


@pytest.mark.parametrize("text", OUTCOME_QUESTIONS)
def test_a_claim_lookup_makes_any_intent_claim_related(text: str) -> None:
    assert claim_outcome_requested(text, intent="coverage_question", lookup_tools=["claim_status"])
    assert claim_outcome_requested(text, intent=None, lookup_tools=("claim_intake",))


@pytest.mark.parametrize("text", ["Wurde CLM-2026-0001 schon genehmigt?", "Will you pay CLM-2026-0001?"])
def test_a_claim_number_in_the_text_is_enough_context(text: str) -> None:
    assert claim_outcome_requested(text, intent="general_question")


@pytest.mark.parametrize("text", INFO_QUESTIONS)
@pytest.mark.parametrize("intent", ["claim_report", "claim_status"])
def test_reporting_or_asking_how_is_not_a_claim_decision(text: str, intent: str) -> None:
    assert not claim_outcome_requested(text, intent=intent)


@pytest.mark.parametrize(
    "text", ["Can I get a refund for order 10023?", "Wann zahle ich die Rechnung?", "Wird meine Rücksendung erstattet?"]
)
def test_outcome_words_outside_a_claim_are_left_to_other_rules(text: str) -> None:
    assert not claim_outcome_requested(text, intent="return_request", lookup_tools=["order_status"])


@pytest.mark.parametrize("text", ["Wann zahlen Sie meinen Wasserschaden aus?", "Will you approve my claim?"])
def test_the_default_policy_never_automates_a_claim_outcome(text: str) -> None:
    from policies import DEFAULT_POLICY_PATH, Facts, evaluate, load_policy

    policy = load_policy(DEFAULT_POLICY_PATH.read_text(), source="default", version="1")
    flag = claim_outcome_requested(text, intent="claim_status")
    facts = Facts(intent="claim_status", intent_confidence=0.99, channel="sms", legal_effect=flag, claim_decision=flag)
    decision = evaluate(policy, facts)
    assert decision.route.value == "handoff", decision
