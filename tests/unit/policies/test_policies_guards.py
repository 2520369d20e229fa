"""Guards no policy can override: claims, legal effect, refund limit, a human on request, scope."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policies import (
    DEFAULT_GUARDS,
    Decision,
    Facts,
    Guard,
    GuardConfig,
    Route,
    allowed_routes,
    evaluate,
    guard_route,
    load_policy,
)

FactsFactory = Callable[..., Facts]

RECKLESS = load_policy("name: reckless\nrules: []\ndefault: auto_reply\n", version="v1")


def test_claim_decision_goes_to_the_claims_queue(facts: FactsFactory) -> None:
    decision = evaluate(RECKLESS, facts(claim_decision=True, intent="claim_status"))
    assert (decision.route, decision.queue) == (Route.HANDOFF, "claims")
    assert decision.rule_id == Guard.CLAIM_DECISION == "guard:claim-decision"
    assert (decision.overridden_rule_id, decision.overridden_route) == ("default", Route.AUTO_REPLY)
    assert "GDPR Art. 22" in decision.reason
    assert decision.policy_version == "v1"


def test_draft_is_not_enough_for_a_claim_decision(facts: FactsFactory) -> None:
    policy = load_policy("rules: []\ndefault: draft_for_approval\n")
    decision = evaluate(policy, facts(claim_decision=True))
    assert decision.route is Route.HANDOFF


def test_policy_handoff_for_claims_is_kept(facts: FactsFactory) -> None:
    policy = load_policy("rules: []\ndefault: {route: handoff, queue: claims-motor}\n")
    decision = evaluate(policy, facts(claim_decision=True))
    assert (decision.rule_id, decision.queue) == ("default", "claims-motor")


def test_asked_for_human_always_hands_off(facts: FactsFactory) -> None:
    for route in ("auto_reply", "draft_for_approval", "ask_clarification"):
        policy = load_policy(f"rules: []\ndefault: {route}\n")
        decision = evaluate(policy, facts(asked_for_human=True))
        assert (decision.route, decision.rule_id) == (Route.HANDOFF, "guard:human-requested")
        assert decision.queue == DEFAULT_GUARDS.human_queue


def test_legal_effect_needs_a_named_human(facts: FactsFactory) -> None:
    decision = evaluate(RECKLESS, facts(legal_effect=True))
    assert (decision.route, decision.rule_id) == (Route.DRAFT_FOR_APPROVAL, "guard:legal-effect")
    ask = load_policy("rules: []\ndefault: ask_clarification\n")
    assert evaluate(ask, facts(legal_effect=True)).route is Route.DRAFT_FOR_APPROVAL


def test_refund_limit_is_configurable(facts: FactsFactory) -> None:
    assert evaluate(RECKLESS, facts(amount=200.0)).route is Route.AUTO_REPLY
    over = evaluate(RECKLESS, facts(amount=200.01))
    assert (over.route, over.rule_id) == (Route.DRAFT_FOR_APPROVAL, "guard:refund-limit")
    assert "over the refund limit 200" in over.reason
    strict = GuardConfig(refund_limit=50)
    assert evaluate(RECKLESS, facts(amount=60.0), guards=strict).route is Route.DRAFT_FOR_APPROVAL


def test_out_of_scope_never_auto_replies(facts: FactsFactory) -> None:
    first = evaluate(RECKLESS, facts(out_of_scope=True, attempts=0))
    assert (first.route, first.rule_id) == (Route.ASK_CLARIFICATION, "guard:out-of-scope")
    later = evaluate(RECKLESS, facts(out_of_scope=True, attempts=2))
    assert later.route is Route.HANDOFF
    drafted = load_policy("rules: []\ndefault: draft_for_approval\n")
    assert evaluate(drafted, facts(out_of_scope=True)).rule_id == "default"


def test_an_unreachable_back_office_goes_to_a_person_whatever_the_policy(facts: FactsFactory) -> None:
    """No automatic answer or draft without the facts a lookup should have brought."""
    for route in ("auto_reply", "draft_for_approval", "ask_clarification"):
        policy = load_policy(f"rules: []\ndefault: {route}\n")
        decision = evaluate(policy, facts(intent="order_status", lookup_unavailable=True))
        assert (decision.route, decision.rule_id) == (Route.HANDOFF, "guard:backoffice-unavailable")
        assert "could not be reached" in decision.reason
    assert evaluate(RECKLESS, facts(intent="order_status")).route is Route.AUTO_REPLY


def test_claims_guard_wins_over_human_request(facts: FactsFactory) -> None:
    decision = evaluate(RECKLESS, facts(claim_decision=True, asked_for_human=True))
    assert (decision.route, decision.queue) == (Route.HANDOFF, "claims")


@pytest.mark.parametrize(
    ("overrides", "allowed"),
    [
        ({}, set(Route)),
        ({"claim_decision": True}, {Route.HANDOFF}),
        ({"asked_for_human": True}, {Route.HANDOFF}),
        ({"legal_effect": True}, {Route.HANDOFF, Route.DRAFT_FOR_APPROVAL}),
        ({"amount": 1000.0}, {Route.HANDOFF, Route.DRAFT_FOR_APPROVAL}),
        ({"out_of_scope": True}, set(Route) - {Route.AUTO_REPLY}),
        ({"out_of_scope": True, "legal_effect": True}, {Route.HANDOFF, Route.DRAFT_FOR_APPROVAL}),
    ],
)
def test_allowed_routes(facts: FactsFactory, overrides: dict[str, object], allowed: set[Route]) -> None:
    assert allowed_routes(facts(**overrides)) == allowed


def test_guard_route_is_defence_in_depth_for_any_decision(facts: FactsFactory) -> None:
    forged = Decision(
        route=Route.AUTO_REPLY,
        rule_id="claims-to-bot",
        policy_name="bad",
        policy_version="v666",
        reason="a bad policy slipped through",
    )
    guarded = guard_route(facts(claim_decision=True), forged)
    assert (guarded.route, guarded.queue, guarded.rule_id) == (Route.HANDOFF, "claims", "guard:claim-decision")
    assert (guarded.overridden_rule_id, guarded.policy_version) == ("claims-to-bot", "v666")
    assert guarded.guarded
    assert guard_route(facts(), forged) is forged
