"""The shipped default policy loads and routes the demo intents as documented."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policies import DEFAULT_POLICY_PATH, Facts, Route, evaluate, load_policy_file

FactsFactory = Callable[..., Facts]
POLICY = load_policy_file(DEFAULT_POLICY_PATH, version="default-1")


@pytest.mark.parametrize(
    ("overrides", "route", "queue", "rule_id"),
    [
        ({"intent": "order_status"}, Route.AUTO_REPLY, None, "self-service"),
        ({"intent": "return_request"}, Route.AUTO_REPLY, None, "self-service"),
        ({"intent": "invoice_question"}, Route.AUTO_REPLY, None, "self-service"),
        ({"intent": "coverage_question"}, Route.AUTO_REPLY, None, "self-service"),
        ({"intent": "claim_status"}, Route.AUTO_REPLY, None, "self-service"),
        ({"intent": "order_status", "intent_confidence": 0.6}, Route.DRAFT_FOR_APPROVAL, None, "default"),
        ({"intent": "wants_human"}, Route.HANDOFF, "general", "wants-human"),
        ({"intent": "order_status", "asked_for_human": True}, Route.HANDOFF, "general", "wants-human"),
        ({"intent": "claim_report"}, Route.HANDOFF, "claims", "claim-report"),
        ({"intent": "claim_status", "claim_decision": True}, Route.HANDOFF, "claims", "claim-decision"),
        ({"intent": "order_status", "anger": 0.82}, Route.HANDOFF, "escalations", "angry-customers"),
        ({"intent": "complaint", "frustration": 0.9}, Route.HANDOFF, "escalations", "angry-customers"),
        ({"intent": "small_talk", "intent_confidence": 0.4}, Route.ASK_CLARIFICATION, None, "unclear"),
        ({"intent": "order_status", "out_of_scope": True}, Route.ASK_CLARIFICATION, None, "unclear"),
        ({"intent": "small_talk", "intent_confidence": 0.4, "attempts": 2}, Route.HANDOFF, "general", "still-unclear"),
        ({"intent": "complaint"}, Route.DRAFT_FOR_APPROVAL, None, "complaints"),
        ({"intent": "contract_change"}, Route.DRAFT_FOR_APPROVAL, None, "contract-changes"),
        ({"intent": "delivery_problem"}, Route.DRAFT_FOR_APPROVAL, None, "default"),
        ({"intent": "small_talk"}, Route.DRAFT_FOR_APPROVAL, None, "default"),
        ({"intent": "return_request", "amount": 450.0}, Route.DRAFT_FOR_APPROVAL, None, "guard:refund-limit"),
        ({"intent": "coverage_question", "legal_effect": True}, Route.DRAFT_FOR_APPROVAL, None, "legal-effect"),
    ],
)
def test_demo_routes(
    facts: FactsFactory, overrides: dict[str, object], route: Route, queue: str | None, rule_id: str
) -> None:
    decision = evaluate(POLICY, facts(**overrides))
    assert (decision.route, decision.queue, decision.rule_id) == (route, queue, rule_id), decision.reason
    assert decision.policy_version == "default-1"


def test_claim_handoffs_carry_a_summary(facts: FactsFactory) -> None:
    assert evaluate(POLICY, facts(intent="claim_report")).summary
